-- Platform tables shared by every service database: the transactional
-- outbox (events written with the change that caused them) and the inbox
-- (ids of events a consumer has already applied).

-- +goose Up
CREATE TABLE outbox (
    id          TEXT PRIMARY KEY,
    subject     TEXT NOT NULL,
    type        TEXT NOT NULL,
    source      TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    payload     BYTEA NOT NULL,
    traceparent TEXT NOT NULL DEFAULT '',
    sent_at     BIGINT
);

-- The relay scans unsent rows in id (= time) order; cleanup scans sent ones.
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;
CREATE INDEX outbox_sent_at ON outbox (sent_at) WHERE sent_at IS NOT NULL;

CREATE TABLE inbox (
    consumer   TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    handled_at BIGINT NOT NULL,
    PRIMARY KEY (consumer, event_id)
);

-- +goose Down
DROP TABLE inbox;
DROP TABLE outbox;
