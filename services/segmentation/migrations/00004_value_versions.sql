-- A stored value's version grows with every change an event makes to the
-- customer's history (PutValue), so a full recompute, which computes from a
-- snapshot and writes later, writes a customer's value only while it is
-- still the version it read: an event handled meanwhile, on any replica,
-- is never overwritten by a value computed without it.

-- +goose Up
ALTER TABLE customer_values ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE customer_values DROP COLUMN version;
