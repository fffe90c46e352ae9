-- +goose Up
-- The inbox is pruned by age (events.PruneInbox).
CREATE INDEX inbox_handled_at ON inbox (handled_at);

-- +goose Down
DROP INDEX inbox_handled_at;
