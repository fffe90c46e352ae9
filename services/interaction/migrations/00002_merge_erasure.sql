-- Customer merges and erasures. customer_merges remembers whom each merged
-- customer was folded into, so interactions still naming it are kept under
-- the survivor; customer_erasures remembers erased customers, whose
-- interactions lost their free text and keys and who get no new ones.

-- +goose Up
CREATE TABLE customer_merges (
    merged_id   TEXT PRIMARY KEY,
    survivor_id TEXT NOT NULL,
    merge_time  BIGINT NOT NULL
);

CREATE INDEX customer_merges_survivor ON customer_merges (survivor_id);

CREATE TABLE customer_erasures (
    customer_id TEXT PRIMARY KEY,
    erase_time  BIGINT NOT NULL,
    record_time BIGINT NOT NULL
);

-- +goose Down
DROP TABLE customer_erasures;
DROP TABLE customer_merges;
