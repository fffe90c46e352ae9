-- +goose Up
-- Ids and lookup keys compare byte by byte (COLLATE "C"), as they do in
-- SQLite and in Go. Under a language collation every comparison in their
-- indexes went through strcoll, on copies of both strings, and an import
-- makes millions of them. Every column holding a customer id changes
-- together, because comparing columns of two different collations is an
-- error. No query orders customers by these columns, except owner_id,
-- whose names now sort by code point on every server.
ALTER TABLE customers
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN external_id TYPE TEXT COLLATE "C",
    ALTER COLUMN owner_id TYPE TEXT COLLATE "C",
    ALTER COLUMN team_id TYPE TEXT COLLATE "C",
    ALTER COLUMN name_key TYPE TEXT COLLATE "C",
    ALTER COLUMN merged_into TYPE TEXT COLLATE "C",
    ALTER COLUMN request_id TYPE TEXT COLLATE "C";
ALTER TABLE customer_contacts
    ALTER COLUMN customer_id TYPE TEXT COLLATE "C",
    ALTER COLUMN contact_key TYPE TEXT COLLATE "C";
ALTER TABLE relationships
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN from_customer_id TYPE TEXT COLLATE "C",
    ALTER COLUMN to_customer_id TYPE TEXT COLLATE "C";
ALTER TABLE audit_entries ALTER COLUMN customer_id TYPE TEXT COLLATE "C";

-- Only customers created with a request id have one; imports leave it
-- empty, and the unique constraint indexed every one of their NULLs.
ALTER TABLE customers DROP CONSTRAINT customers_request_id_key;
CREATE UNIQUE INDEX customers_request_id ON customers (request_id) WHERE request_id IS NOT NULL;

-- History is only read by customer; one index keyed by customer, time and
-- id serves that and keeps ids unique, where the primary key on id was a
-- second index written for every change and never read.
ALTER TABLE ownership_changes
    DROP CONSTRAINT ownership_changes_pkey,
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN customer_id TYPE TEXT COLLATE "C";
DROP INDEX ownership_changes_customer;
ALTER TABLE ownership_changes ADD PRIMARY KEY (customer_id, change_time, id);

-- +goose Down
ALTER TABLE ownership_changes DROP CONSTRAINT ownership_changes_pkey;
ALTER TABLE ownership_changes
    ALTER COLUMN id TYPE TEXT COLLATE "default",
    ALTER COLUMN customer_id TYPE TEXT COLLATE "default",
    ADD PRIMARY KEY (id);
CREATE INDEX ownership_changes_customer ON ownership_changes (customer_id, change_time);

DROP INDEX customers_request_id;

ALTER TABLE audit_entries ALTER COLUMN customer_id TYPE TEXT COLLATE "default";
ALTER TABLE relationships
    ALTER COLUMN id TYPE TEXT COLLATE "default",
    ALTER COLUMN from_customer_id TYPE TEXT COLLATE "default",
    ALTER COLUMN to_customer_id TYPE TEXT COLLATE "default";
ALTER TABLE customer_contacts
    ALTER COLUMN customer_id TYPE TEXT COLLATE "default",
    ALTER COLUMN contact_key TYPE TEXT COLLATE "default";
ALTER TABLE customers
    ALTER COLUMN id TYPE TEXT COLLATE "default",
    ALTER COLUMN external_id TYPE TEXT COLLATE "default",
    ALTER COLUMN owner_id TYPE TEXT COLLATE "default",
    ALTER COLUMN team_id TYPE TEXT COLLATE "default",
    ALTER COLUMN name_key TYPE TEXT COLLATE "default",
    ALTER COLUMN merged_into TYPE TEXT COLLATE "default",
    ALTER COLUMN request_id TYPE TEXT COLLATE "default";
ALTER TABLE customers ADD CONSTRAINT customers_request_id_key UNIQUE (request_id);
