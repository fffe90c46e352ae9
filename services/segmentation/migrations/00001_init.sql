-- Customers known to segmentation (from customer and purchase events) and
-- the purchases their value is computed from. Valid on SQLite and PostgreSQL.

-- +goose Up
CREATE TABLE customers (
    id            TEXT PRIMARY KEY,
    register_time BIGINT NOT NULL
);

-- interaction_id is the purchase's identity: a purchase event replayed
-- under a new event id is still stored once.
CREATE TABLE purchases (
    interaction_id TEXT PRIMARY KEY,
    customer_id    TEXT NOT NULL REFERENCES customers (id),
    currency       TEXT NOT NULL,
    amount_minor   BIGINT NOT NULL,
    occur_time     BIGINT NOT NULL
);

-- One customer's history (value reads).
CREATE INDEX purchases_by_customer ON purchases (customer_id, occur_time);
-- The ranking aggregate: one currency over a time window, grouped by
-- customer, answered from the index alone.
CREATE INDEX purchases_by_window ON purchases (currency, occur_time, customer_id, amount_minor);

-- +goose Down
DROP TABLE purchases;
DROP TABLE customers;
