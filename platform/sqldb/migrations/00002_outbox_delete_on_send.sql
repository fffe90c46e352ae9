-- The relay deletes outbox rows once JetStream has them instead of marking
-- them sent: the stream keeps the events, a delete costs the database far
-- less than an UPDATE, and personal data in events leaves the database as
-- soon as it is published. Every row left is unsent, so the primary key
-- alone orders the relay's scan.

-- +goose Up
DELETE FROM outbox WHERE sent_at IS NOT NULL;
DROP INDEX outbox_unsent;
DROP INDEX outbox_sent_at;
ALTER TABLE outbox DROP COLUMN sent_at;

-- +goose Down
ALTER TABLE outbox ADD COLUMN sent_at BIGINT;
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;
CREATE INDEX outbox_sent_at ON outbox (sent_at) WHERE sent_at IS NOT NULL;
