-- +goose Up
-- The service a call came through, beside the person it was made for
-- (actor): "svc:interaction" when the interaction service read a customer
-- for an agent, "" for a direct call.
ALTER TABLE audit_entries ADD COLUMN via TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE audit_entries DROP COLUMN via;
