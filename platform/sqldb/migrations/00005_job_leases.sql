-- Background jobs shared by a service's replicas (platform/sqldb/lease):
-- one lease row per job says which replica runs it and until when, and the
-- last period the job completed; job_runs logs every run, so "once per
-- period" can be checked from the database. Times are unix microseconds.

-- +goose Up
CREATE TABLE job_leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    -- fence grows by one with every acquisition: a holder whose lease was
    -- taken over cannot renew it or record a period with its old fence.
    fence       BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    -- done_period is the last period (unix time / period length) the job
    -- completed; 0 before its first.
    done_period BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE job_runs (
    name        TEXT NOT NULL,
    period      BIGINT NOT NULL,
    fence       BIGINT NOT NULL,
    holder      TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    -- NULL while the run goes on, or forever when its holder died.
    finished_at BIGINT,
    error       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (name, period, fence)
);

-- +goose Down
DROP TABLE job_runs;
DROP TABLE job_leases;
