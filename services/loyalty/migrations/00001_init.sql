-- Loyalty accounts and the points ledger behind their balances.

-- +goose Up
CREATE TABLE loyalty_accounts (
    customer_id     TEXT PRIMARY KEY,
    points_balance  BIGINT NOT NULL,
    lifetime_points BIGINT NOT NULL,
    tier            TEXT NOT NULL,
    create_time     BIGINT NOT NULL,
    update_time     BIGINT NOT NULL
);

CREATE TABLE points_ledger (
    id             TEXT PRIMARY KEY,
    customer_id    TEXT NOT NULL REFERENCES loyalty_accounts (customer_id),
    points         BIGINT NOT NULL,
    reason         TEXT NOT NULL,
    interaction_id TEXT NOT NULL,
    event_id       TEXT NOT NULL,
    credit_time    BIGINT NOT NULL
);

-- One event books at most one ledger entry, whatever the inbox says: the
-- last line of defence against double-counting a replayed event.
CREATE UNIQUE INDEX points_ledger_event_id ON points_ledger (event_id);
-- A member's history, newest last (ids are UUIDv7, so time-ordered).
CREATE INDEX points_ledger_customer ON points_ledger (customer_id, id);

-- +goose Down
DROP TABLE points_ledger;
DROP TABLE loyalty_accounts;
