-- Cases with their SLA clocks, comments, business calendars, SLA
-- policies, teams, and the satisfaction surveys sent on resolution.
-- Times are BIGINT unix microseconds UTC (NULL when not yet), durations
-- BIGINT microseconds, flags INTEGER 0/1.

-- +goose Up
CREATE TABLE case_numbers (
    id   INTEGER PRIMARY KEY,
    last BIGINT NOT NULL
);
INSERT INTO case_numbers (id, last) VALUES (1, 0);

CREATE TABLE cases (
    id                       TEXT PRIMARY KEY,
    number                   TEXT NOT NULL UNIQUE,
    request_id               TEXT UNIQUE,
    customer_id              TEXT NOT NULL,
    subject                  TEXT NOT NULL,
    description              TEXT NOT NULL,
    category                 TEXT NOT NULL,
    priority                 TEXT NOT NULL,
    status                   TEXT NOT NULL,
    assignee_id              TEXT NOT NULL,
    team_id                  TEXT NOT NULL,
    customer_class           TEXT NOT NULL,
    channel                  TEXT NOT NULL,
    kind                     TEXT NOT NULL,
    origin_interaction_id    TEXT NOT NULL,
    sla_policy_id            TEXT NOT NULL,
    calendar_id              TEXT NOT NULL,
    first_response_target_us BIGINT NOT NULL,
    resolution_target_us     BIGINT NOT NULL,
    first_response_due       BIGINT,
    resolution_due           BIGINT,
    paused_for_us            BIGINT NOT NULL,
    paused_at                BIGINT,
    first_response_at        BIGINT,
    resolved_at              BIGINT,
    closed_at                BIGINT,
    first_response_breached  INTEGER NOT NULL,
    resolution_breached      INTEGER NOT NULL,
    escalated_to             TEXT NOT NULL,
    resolution               TEXT NOT NULL,
    survey_id                TEXT NOT NULL,
    create_time              BIGINT NOT NULL,
    update_time              BIGINT NOT NULL
);

CREATE INDEX cases_customer ON cases (customer_id, create_time DESC, id DESC);
CREATE INDEX cases_recent ON cases (create_time DESC, id DESC);
-- The SLA sweep reads open cases by due time.
CREATE INDEX cases_first_response_due ON cases (first_response_due);
CREATE INDEX cases_resolution_due ON cases (resolution_due);

CREATE TABLE case_comments (
    id               TEXT PRIMARY KEY,
    case_id          TEXT NOT NULL REFERENCES cases (id),
    author_id        TEXT NOT NULL,
    body             TEXT NOT NULL,
    customer_visible INTEGER NOT NULL,
    create_time      BIGINT NOT NULL
);

CREATE INDEX case_comments_case ON case_comments (case_id, create_time);

CREATE TABLE business_calendars (
    id        TEXT PRIMARY KEY,
    name      TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    -- JSON: [{"weekday":1,"start":"09:00","end":"18:00"}, ...]
    hours     TEXT NOT NULL,
    -- JSON: ["2025-10-01", ...]
    holidays  TEXT NOT NULL
);

CREATE TABLE sla_policies (
    id                       TEXT PRIMARY KEY,
    name                     TEXT NOT NULL,
    priority                 TEXT NOT NULL,
    customer_class           TEXT NOT NULL,
    first_response_target_us BIGINT NOT NULL,
    resolution_target_us     BIGINT NOT NULL,
    calendar_id              TEXT NOT NULL REFERENCES business_calendars (id),
    create_time              BIGINT NOT NULL,
    UNIQUE (priority, customer_class)
);

CREATE TABLE teams (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    manager_id TEXT NOT NULL
);

CREATE TABLE surveys (
    id             TEXT PRIMARY KEY,
    kind           TEXT NOT NULL,
    customer_id    TEXT NOT NULL,
    case_id        TEXT NOT NULL,
    interaction_id TEXT NOT NULL,
    agent_id       TEXT NOT NULL,
    team_id        TEXT NOT NULL,
    score          INTEGER,
    comment        TEXT NOT NULL,
    create_time    BIGINT NOT NULL,
    answer_time    BIGINT
);

CREATE INDEX surveys_answered ON surveys (answer_time);

-- +goose Down
DROP TABLE surveys;
DROP TABLE teams;
DROP TABLE sla_policies;
DROP TABLE business_calendars;
DROP TABLE case_comments;
DROP TABLE cases;
DROP TABLE case_numbers;
