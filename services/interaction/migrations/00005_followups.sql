-- Follow-up (回访) rules and follow-ups. Times are BIGINT unix
-- microseconds UTC, offsets BIGINT microseconds.

-- +goose Up
CREATE TABLE followup_rules (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    trigger_kind     TEXT NOT NULL,
    min_currency     TEXT NOT NULL,
    min_amount_minor BIGINT NOT NULL,
    offset_us        BIGINT NOT NULL,
    agent_id         TEXT NOT NULL,
    note             TEXT NOT NULL,
    channel          TEXT NOT NULL,
    create_time      BIGINT NOT NULL
);

CREATE TABLE followups (
    id             TEXT PRIMARY KEY,
    customer_id    TEXT NOT NULL,
    agent_id       TEXT NOT NULL,
    reason         TEXT NOT NULL,
    due_time       BIGINT NOT NULL,
    note           TEXT NOT NULL,
    channel        TEXT NOT NULL,
    status         TEXT NOT NULL,
    rule_id        TEXT NOT NULL,
    source_id      TEXT NOT NULL,
    interaction_id TEXT NOT NULL,
    create_time    BIGINT NOT NULL,
    complete_time  BIGINT
);

-- The due sweep and agents' due lists read by status and due time.
CREATE INDEX followups_due ON followups (status, due_time);
CREATE INDEX followups_agent ON followups (agent_id, due_time);
CREATE INDEX followups_customer ON followups (customer_id, due_time);

-- +goose Down
DROP TABLE followups;
DROP TABLE followup_rules;
