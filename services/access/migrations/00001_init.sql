-- API keys. The secret is never stored, only its SHA-256. Roles, teams and
-- permissions are JSON arrays of strings. Times are Unix microseconds; 0 is
-- unset. Valid on SQLite and PostgreSQL.

-- +goose Up
CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    subject     TEXT NOT NULL,
    roles       TEXT NOT NULL,
    teams       TEXT NOT NULL,
    permissions TEXT NOT NULL,
    creator     TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    create_time BIGINT NOT NULL,
    expire_time BIGINT NOT NULL,
    revoke_time BIGINT NOT NULL
);

-- Listing, newest first.
CREATE INDEX api_keys_by_create_time ON api_keys (create_time);

-- +goose Down
DROP TABLE api_keys;
