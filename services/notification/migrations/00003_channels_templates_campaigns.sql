-- Delivery records, retries and dead letters; the customer read model
-- (for birthdays, holidays and triggered messages); loyalty members (for
-- member days); saved templates; campaigns; frequency-cap counters for
-- when Redis is not configured; opt-outs to pass on to the customer
-- service.

-- +goose Up
ALTER TABLE messages ADD COLUMN agent_id TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN campaign_id TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN locale TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN status_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN not_before BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';
-- NULL for messages any number of which may exist; unique otherwise, so a
-- greeting scanned twice, or by two replicas, is created once.
ALTER TABLE messages ADD COLUMN idempotency_key TEXT;
ALTER TABLE messages ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN dead_letter INTEGER NOT NULL DEFAULT 0;

CREATE UNIQUE INDEX messages_idempotency ON messages (idempotency_key);
DROP INDEX messages_queued;
-- The dispatcher claims due messages.
CREATE INDEX messages_due ON messages (not_before, create_time, id) WHERE status = 'QUEUED';
CREATE INDEX messages_agent ON messages (agent_id, create_time DESC, id DESC) WHERE agent_id <> '';
CREATE INDEX messages_campaign ON messages (campaign_id, status) WHERE campaign_id <> '';
CREATE INDEX messages_dead ON messages (create_time DESC, id DESC) WHERE dead_letter = 1;

CREATE TABLE delivery_attempts (
    message_id        TEXT NOT NULL,
    attempt           INTEGER NOT NULL,
    attempt_time      BIGINT NOT NULL,
    outcome           TEXT NOT NULL,
    provider_response TEXT NOT NULL,
    PRIMARY KEY (message_id, attempt)
);

-- What the service knows of each customer, from the customer events.
CREATE TABLE recipients (
    customer_id TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    email       TEXT NOT NULL,
    phone       TEXT NOT NULL,
    locale      TEXT NOT NULL,
    time_zone   TEXT NOT NULL,
    birth_month INTEGER NOT NULL,
    birth_day   INTEGER NOT NULL
);

CREATE INDEX recipients_birthday ON recipients (birth_month, birth_day, customer_id);

CREATE TABLE program_members (
    program_id  TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    tier_code   TEXT NOT NULL,
    tier_name   TEXT NOT NULL,
    PRIMARY KEY (program_id, customer_id)
);

CREATE INDEX program_members_customer ON program_members (customer_id);

CREATE TABLE templates (
    kind        TEXT NOT NULL,
    channel     TEXT NOT NULL,
    locale      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    update_time BIGINT NOT NULL,
    PRIMARY KEY (kind, channel, locale)
);

CREATE TABLE campaigns (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    segment_id      TEXT NOT NULL,
    kind            TEXT NOT NULL,
    schedule_time   BIGINT NOT NULL,
    rate_per_second INTEGER NOT NULL,
    state           TEXT NOT NULL,
    processed       BIGINT NOT NULL,
    request_id      TEXT,
    create_time     BIGINT NOT NULL,
    start_time      BIGINT NOT NULL,
    end_time        BIGINT NOT NULL,
    error           TEXT NOT NULL,
    -- A runner's claim on the campaign runs until claimed_until.
    claimed_until   BIGINT NOT NULL DEFAULT 0
);

CREATE UNIQUE INDEX campaigns_request ON campaigns (request_id);
CREATE INDEX campaigns_created ON campaigns (create_time DESC, id DESC);

CREATE TABLE frequency_counts (
    customer_id TEXT NOT NULL,
    channel     TEXT NOT NULL,
    day         TEXT NOT NULL,
    count       INTEGER NOT NULL,
    PRIMARY KEY (customer_id, channel, day)
);

CREATE TABLE consent_syncs (
    id          TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    channel     TEXT NOT NULL,
    status      TEXT NOT NULL,
    source      TEXT NOT NULL,
    create_time BIGINT NOT NULL
);

-- +goose Down
DROP TABLE consent_syncs;
DROP TABLE frequency_counts;
DROP TABLE campaigns;
DROP TABLE templates;
DROP TABLE program_members;
DROP TABLE recipients;
DROP TABLE delivery_attempts;
DROP INDEX messages_dead;
DROP INDEX messages_campaign;
DROP INDEX messages_agent;
DROP INDEX messages_due;
DROP INDEX messages_idempotency;
CREATE INDEX messages_queued ON messages (create_time, id) WHERE status = 'QUEUED';
ALTER TABLE messages DROP COLUMN dead_letter;
ALTER TABLE messages DROP COLUMN attempts;
ALTER TABLE messages DROP COLUMN idempotency_key;
ALTER TABLE messages DROP COLUMN time_zone;
ALTER TABLE messages DROP COLUMN not_before;
ALTER TABLE messages DROP COLUMN status_reason;
ALTER TABLE messages DROP COLUMN locale;
ALTER TABLE messages DROP COLUMN campaign_id;
ALTER TABLE messages DROP COLUMN agent_id;
