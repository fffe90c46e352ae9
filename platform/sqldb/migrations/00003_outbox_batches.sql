-- An outbox row may hold all the events of one transaction: batch_size is
-- how many its payload encodes (see platform/events/batch.go), 0 for a row
-- that is one event in its own columns. Bulk writers such as imports and
-- transfers then insert, read and delete one row per transaction instead of
-- one per event.

-- +goose Up
ALTER TABLE outbox ADD COLUMN batch_size INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE outbox DROP COLUMN batch_size;
