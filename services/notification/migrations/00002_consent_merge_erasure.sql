-- Customers' consents per channel (the latest answer each), merges (whom a
-- merged customer was folded into, so events still naming it count for
-- the survivor) and erasures (customers whose messages lost their personal
-- data and who get no new ones).

-- +goose Up
CREATE TABLE consents (
    customer_id TEXT NOT NULL,
    channel     TEXT NOT NULL,
    status      TEXT NOT NULL,
    source      TEXT NOT NULL,
    update_time BIGINT NOT NULL,
    PRIMARY KEY (customer_id, channel)
);

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
DROP TABLE consents;
