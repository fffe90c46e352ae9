-- +goose Up
-- The full profile. Columns hold what lists filter and sort on; `doc` holds
-- the rest of the profile as JSON (other contacts, addresses, birthday,
-- tags, attributes, consents, merged ids), read whole with the row. The
-- side tables below index the repeated parts for filters and duplicate
-- checks. Customers created before this migration get the owner
-- "unassigned", as every customer must have one.
ALTER TABLE customers ADD COLUMN state TEXT NOT NULL DEFAULT 'active';
ALTER TABLE customers ADD COLUMN kind TEXT NOT NULL DEFAULT 'end_customer';
ALTER TABLE customers ADD COLUMN lifecycle_stage TEXT NOT NULL DEFAULT 'prospect';
ALTER TABLE customers ADD COLUMN owner_id TEXT NOT NULL DEFAULT 'unassigned';
ALTER TABLE customers ADD COLUMN team_id TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN external_id TEXT;
ALTER TABLE customers ADD COLUMN possible_duplicate INTEGER NOT NULL DEFAULT 0;
ALTER TABLE customers ADD COLUMN merged_into TEXT;
ALTER TABLE customers ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN doc TEXT NOT NULL DEFAULT '{}';
ALTER TABLE customers ADD COLUMN delete_time BIGINT;
UPDATE customers SET doc = '{"tags":' || tags || '}',
    name_key = lower(display_name),
    search_text = lower(display_name || ' ' || email || ' ' || phone);
ALTER TABLE customers DROP COLUMN tags;

CREATE UNIQUE INDEX customers_external_id ON customers (external_id);
CREATE INDEX customers_owner ON customers (owner_id, create_time);
CREATE INDEX customers_name_key ON customers (name_key);
CREATE INDEX customers_merged_into ON customers (merged_into) WHERE merged_into IS NOT NULL;

-- One row per email ("email:<lowercased>") or phone ("phone:<E.164>") of a
-- customer. The first customer to hold a contact claims it; the partial
-- unique index makes that race-free, and customers created as possible
-- duplicates hold theirs unclaimed.
CREATE TABLE customer_contacts (
    customer_id TEXT    NOT NULL,
    contact_key TEXT    NOT NULL,
    claimed     INTEGER NOT NULL,
    PRIMARY KEY (customer_id, contact_key)
);
CREATE UNIQUE INDEX customer_contacts_claim ON customer_contacts (contact_key) WHERE claimed = 1;
CREATE INDEX customer_contacts_key ON customer_contacts (contact_key);
INSERT INTO customer_contacts (customer_id, contact_key, claimed)
    SELECT id, 'email:' || lower(email), 0 FROM customers WHERE email <> '';
INSERT INTO customer_contacts (customer_id, contact_key, claimed)
    SELECT id, 'phone:' || phone, 0 FROM customers WHERE phone <> '';

CREATE TABLE customer_tags (
    customer_id TEXT NOT NULL,
    tag         TEXT NOT NULL,
    PRIMARY KEY (customer_id, tag)
);
CREATE INDEX customer_tags_tag ON customer_tags (tag);

-- text_value is the value's text form (dates YYYY-MM-DD, booleans
-- true/false); num_value is set for numbers.
CREATE TABLE customer_attributes (
    customer_id TEXT NOT NULL,
    name        TEXT NOT NULL,
    text_value  TEXT NOT NULL,
    num_value   DOUBLE PRECISION,
    PRIMARY KEY (customer_id, name)
);
CREATE INDEX customer_attributes_text ON customer_attributes (name, text_value);
CREATE INDEX customer_attributes_num ON customer_attributes (name, num_value) WHERE num_value IS NOT NULL;

CREATE TABLE attribute_definitions (
    name         TEXT   NOT NULL PRIMARY KEY,
    type         TEXT   NOT NULL,
    display_name TEXT   NOT NULL,
    description  TEXT   NOT NULL,
    enum_values  TEXT   NOT NULL,
    create_time  BIGINT NOT NULL,
    update_time  BIGINT NOT NULL
);

CREATE TABLE relationships (
    id               TEXT   NOT NULL PRIMARY KEY,
    from_customer_id TEXT   NOT NULL,
    to_customer_id   TEXT   NOT NULL,
    type             TEXT   NOT NULL,
    role             TEXT   NOT NULL,
    create_time      BIGINT NOT NULL,
    UNIQUE (from_customer_id, to_customer_id, type)
);
CREATE INDEX relationships_to ON relationships (to_customer_id);

CREATE TABLE ownership_changes (
    id            TEXT   NOT NULL PRIMARY KEY,
    customer_id   TEXT   NOT NULL,
    from_owner_id TEXT   NOT NULL,
    from_team_id  TEXT   NOT NULL,
    to_owner_id   TEXT   NOT NULL,
    to_team_id    TEXT   NOT NULL,
    reason        TEXT   NOT NULL,
    actor         TEXT   NOT NULL,
    change_time   BIGINT NOT NULL
);
CREATE INDEX ownership_changes_customer ON ownership_changes (customer_id, change_time);

CREATE TABLE audit_entries (
    id          TEXT   NOT NULL PRIMARY KEY,
    time        BIGINT NOT NULL,
    actor       TEXT   NOT NULL,
    action      TEXT   NOT NULL,
    customer_id TEXT   NOT NULL,
    reason      TEXT   NOT NULL,
    detail      TEXT   NOT NULL
);
CREATE INDEX audit_entries_time ON audit_entries (time);
CREATE INDEX audit_entries_customer ON audit_entries (customer_id, time);
CREATE INDEX audit_entries_actor ON audit_entries (actor, time);

-- +goose Down
DROP TABLE audit_entries;
DROP TABLE ownership_changes;
DROP TABLE relationships;
DROP TABLE attribute_definitions;
DROP TABLE customer_attributes;
DROP TABLE customer_tags;
DROP TABLE customer_contacts;
DROP INDEX customers_merged_into;
DROP INDEX customers_name_key;
DROP INDEX customers_owner;
DROP INDEX customers_external_id;
ALTER TABLE customers ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
ALTER TABLE customers DROP COLUMN delete_time;
ALTER TABLE customers DROP COLUMN doc;
ALTER TABLE customers DROP COLUMN search_text;
ALTER TABLE customers DROP COLUMN name_key;
ALTER TABLE customers DROP COLUMN merged_into;
ALTER TABLE customers DROP COLUMN possible_duplicate;
ALTER TABLE customers DROP COLUMN external_id;
ALTER TABLE customers DROP COLUMN team_id;
ALTER TABLE customers DROP COLUMN owner_id;
ALTER TABLE customers DROP COLUMN lifecycle_stage;
ALTER TABLE customers DROP COLUMN kind;
ALTER TABLE customers DROP COLUMN state;
