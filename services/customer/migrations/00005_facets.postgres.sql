-- +goose Up
-- Filters find tags and text attribute values through a GIN index on an
-- array of those values (written by the service; see sqlstore.facets)
-- instead of one on the whole profile document. The document's index
-- parsed every written document as JSON and held an entry for every
-- number, boolean and attribute type as well: numbers are nearly all
-- distinct, so each was a new key in the index, and types and booleans
-- match most customers, so each grew a long posting list. No filter used
-- those entries (numbers are compared by range, which GIN cannot answer),
-- yet they made the index the largest single cost of an import.
ALTER TABLE customers ADD COLUMN facets TEXT[] NOT NULL DEFAULT '{}';
UPDATE customers SET facets = ARRAY(
    SELECT 't:' || t FROM jsonb_array_elements_text((doc::jsonb) -> 'tags') AS t
    UNION ALL
    SELECT 'a:' || a.key || '=' || (a.value ->> 's')
    FROM jsonb_each((doc::jsonb) -> 'attributes') AS a
    WHERE a.value ->> 'type' IN ('string', 'enum', 'date') AND COALESCE(a.value ->> 's', '') <> '');
DROP INDEX customers_doc;
CREATE INDEX customers_facets ON customers USING gin (facets);

-- +goose Down
DROP INDEX customers_facets;
ALTER TABLE customers DROP COLUMN facets;
CREATE INDEX customers_doc ON customers USING gin ((doc::jsonb) jsonb_path_ops);
