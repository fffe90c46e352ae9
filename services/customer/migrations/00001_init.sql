-- +goose Up
-- Times are unix microseconds UTC. Tags are a JSON array of strings.
-- request_id is the AIP-155 idempotency key of the create call; NULL when
-- the caller sent none (NULLs never collide in a UNIQUE column).
CREATE TABLE customers (
    id           TEXT    NOT NULL PRIMARY KEY,
    type         TEXT    NOT NULL,
    display_name TEXT    NOT NULL,
    email        TEXT    NOT NULL DEFAULT '',
    phone        TEXT    NOT NULL DEFAULT '',
    locale       TEXT    NOT NULL DEFAULT '',
    time_zone    TEXT    NOT NULL DEFAULT '',
    tags         TEXT    NOT NULL DEFAULT '[]',
    version      BIGINT  NOT NULL,
    create_time  BIGINT  NOT NULL,
    update_time  BIGINT  NOT NULL,
    request_id   TEXT    UNIQUE
);

-- Keyset paging walks (create_time, id).
CREATE INDEX customers_create_time_id ON customers (create_time, id);

-- +goose Down
DROP TABLE customers;
