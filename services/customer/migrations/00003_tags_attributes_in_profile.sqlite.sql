-- +goose Up
-- Tags and attributes are filtered in the profile's JSON (customers.doc)
-- instead of side tables: a side table cost every customer written one
-- row and two or three index entries per tag and per attribute, close to
-- half of an import's database work. SQLite has no index on JSON arrays,
-- so such filters read the profiles the rest of the filter leaves; on
-- PostgreSQL GIN indexes serve them.
DROP TABLE customer_tags;
DROP TABLE customer_attributes;

-- Lookups of who holds a contact go through the claim index; only the
-- unclaimed contacts of possible duplicates need an index of their own.
DROP INDEX customer_contacts_key;
CREATE INDEX customer_contacts_unclaimed ON customer_contacts (contact_key) WHERE claimed = 0;

-- +goose Down
DROP INDEX customer_contacts_unclaimed;
CREATE INDEX customer_contacts_key ON customer_contacts (contact_key);
CREATE TABLE customer_tags (
    customer_id TEXT NOT NULL,
    tag         TEXT NOT NULL,
    PRIMARY KEY (customer_id, tag)
);
CREATE INDEX customer_tags_tag ON customer_tags (tag);
INSERT INTO customer_tags (customer_id, tag)
    SELECT customers.id, t.value FROM customers, json_each(customers.doc, '$.tags') AS t
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
        CASE json_extract(a.value, '$.type')
            WHEN 'number' THEN CAST(COALESCE(json_extract(a.value, '$.n'), 0) AS TEXT)
            WHEN 'bool' THEN CASE WHEN json_extract(a.value, '$.b') THEN 'true' ELSE 'false' END
            ELSE COALESCE(json_extract(a.value, '$.s'), '') END,
        CASE json_extract(a.value, '$.type') WHEN 'number' THEN COALESCE(json_extract(a.value, '$.n'), 0) END
    FROM customers, json_each(customers.doc, '$.attributes') AS a
    WHERE customers.state NOT IN ('erased', 'merged');
