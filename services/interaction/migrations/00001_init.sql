-- Interactions, their purchases and purchase lines. Times are BIGINT unix
-- microseconds UTC; money is an ISO 4217 code and integer minor units.

-- +goose Up
CREATE TABLE interactions (
    id          TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    kind        TEXT NOT NULL,
    channel     TEXT NOT NULL,
    occur_time  BIGINT NOT NULL,
    summary     TEXT NOT NULL,
    source      TEXT NOT NULL,
    -- NULL when not given: NULLs never collide in the unique indexes below,
    -- so only reports that carry a key are deduplicated.
    source_id   TEXT,
    request_id  TEXT,
    create_time BIGINT NOT NULL
);

CREATE UNIQUE INDEX interactions_request_id ON interactions (request_id);
CREATE UNIQUE INDEX interactions_source_id ON interactions (source, source_id);
-- A customer's timeline, newest first, paged by (occur_time, id).
CREATE INDEX interactions_timeline ON interactions (customer_id, occur_time DESC, id DESC);

CREATE TABLE purchases (
    interaction_id TEXT PRIMARY KEY REFERENCES interactions (id),
    currency_code  TEXT NOT NULL,
    total_minor    BIGINT NOT NULL,
    order_id       TEXT NOT NULL
);

CREATE TABLE purchase_lines (
    interaction_id      TEXT NOT NULL REFERENCES purchases (interaction_id),
    line_no             INTEGER NOT NULL,
    sku                 TEXT NOT NULL,
    product_name        TEXT NOT NULL,
    category            TEXT NOT NULL,
    quantity            BIGINT NOT NULL,
    unit_currency_code  TEXT NOT NULL,
    unit_price_minor    BIGINT NOT NULL,
    PRIMARY KEY (interaction_id, line_no)
);

-- +goose Down
DROP TABLE purchase_lines;
DROP TABLE purchases;
DROP TABLE interactions;
