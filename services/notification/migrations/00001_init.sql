-- Messages to customers, and the deliveries the default sink caught.

-- +goose Up
CREATE TABLE messages (
    id             TEXT PRIMARY KEY,
    customer_id    TEXT NOT NULL,
    channel        TEXT NOT NULL,
    -- The email address or phone number the message goes to: the only
    -- customer contact data the service keeps, and only per message.
    address        TEXT NOT NULL,
    template       TEXT NOT NULL,
    subject        TEXT NOT NULL,
    body           TEXT NOT NULL,
    status         TEXT NOT NULL,
    failure_reason TEXT NOT NULL DEFAULT '',
    create_time    BIGINT NOT NULL,
    send_time      BIGINT,
    -- A dispatcher's claim on a QUEUED message runs until claimed_until.
    claimed_until  BIGINT NOT NULL DEFAULT 0
);

-- ListMessages: a customer's messages, newest first.
CREATE INDEX messages_customer ON messages (customer_id, create_time DESC, id DESC);
-- The dispatcher scans queued messages, oldest first.
CREATE INDEX messages_queued ON messages (create_time, id) WHERE status = 'QUEUED';

-- What the default channel sink would have delivered (a dev mail catcher).
-- One row per attempt, so a message sent twice shows twice.
CREATE TABLE sink_deliveries (
    id           TEXT PRIMARY KEY,
    message_id   TEXT NOT NULL,
    channel      TEXT NOT NULL,
    address      TEXT NOT NULL,
    template     TEXT NOT NULL,
    subject      TEXT NOT NULL,
    body         TEXT NOT NULL,
    deliver_time BIGINT NOT NULL
);

CREATE INDEX sink_deliveries_message ON sink_deliveries (message_id);
CREATE INDEX sink_deliveries_time ON sink_deliveries (deliver_time, id);

-- +goose Down
DROP TABLE sink_deliveries;
DROP TABLE messages;
