-- +goose Up
-- Tags and attributes are filtered in the profile's JSON (customers.doc)
-- instead of side tables: a side table cost every customer written one
-- row and two or three index entries per tag and per attribute, close to
-- half of an import's database work. One GIN index of the document's
-- paths and values takes their place for filters, which ask it by
-- containment (@>); a GIN insert only appends to the index's pending list.
DROP TABLE customer_tags;
DROP TABLE customer_attributes;
CREATE INDEX customers_doc ON customers USING gin ((doc::jsonb) jsonb_path_ops);

-- Lookups of who holds a contact go through the claim index; only the
-- unclaimed contacts of possible duplicates need an index of their own.
DROP INDEX customer_contacts_key;
CREATE INDEX customer_contacts_unclaimed ON customer_contacts (contact_key) WHERE claimed = 0;

-- +goose Down
DROP INDEX customer_contacts_unclaimed;
CREATE INDEX customer_contacts_key ON customer_contacts (contact_key);
DROP INDEX customers_doc;
CREATE TABLE customer_tags (
    customer_id TEXT NOT NULL,
    tag         TEXT NOT NULL,
    PRIMARY KEY (customer_id, tag)
);
CREATE INDEX customer_tags_tag ON customer_tags (tag);
INSERT INTO customer_tags (customer_id, tag)
    SELECT customers.id, t FROM customers, jsonb_array_elements_text((doc::jsonb) -> 'tags') AS t
    WHERE customers.state NOT IN ('erased', 'merged');
CREATE TABLE customer_attributes (
    customer_id TEXT NOT NULL,
    name        TEXT NOT NULL,
    text_value  TEXT NOT NULL,
    num_value   DOUBLE PRECISION,
    PRIMARY KEY (customer_id, name)
);
CREATE INDEX customer_attributes_text ON customer_attributes (name, text_value);
CREATE INDEX customer_attributes_num ON customer_attributes (name, num_value) WHERE num_value IS NOT NULL;
INSERT INTO customer_attributes (customer_id, name, text_value, num_value)
    SELECT customers.id, a.key,
        CASE a.value ->> 'type'
            WHEN 'number' THEN COALESCE(a.value ->> 'n', '0')
            WHEN 'bool' THEN COALESCE(a.value ->> 'b', 'false')
            ELSE COALESCE(a.value ->> 's', '') END,
        CASE a.value ->> 'type' WHEN 'number' THEN COALESCE((a.value ->> 'n')::double precision, 0) END
    FROM customers, jsonb_each((doc::jsonb) -> 'attributes') AS a
    WHERE customers.state NOT IN ('erased', 'merged');
