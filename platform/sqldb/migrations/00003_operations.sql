-- Long-running operations (AIP-151, platform/operations): work a call
-- started and answered for at once, polled by name from any replica.
-- Times are unix microseconds; error is a google.rpc.Status and response a
-- google.protobuf.Any, both in protobuf wire form.

-- +goose Up
CREATE TABLE operations (
    name        TEXT PRIMARY KEY,
    method      TEXT NOT NULL,
    subject     TEXT NOT NULL DEFAULT '',
    create_time BIGINT NOT NULL,
    -- The replica running it renews this while the work goes on; a poll
    -- seeing it stale ends the operation ABORTED (its replica died).
    heartbeat_time BIGINT NOT NULL,
    end_time    BIGINT,
    error       BYTEA,
    response    BYTEA
);

-- Pruning finds ended operations by age.
CREATE INDEX operations_end_time ON operations (end_time) WHERE end_time IS NOT NULL;

-- +goose Down
DROP TABLE operations;
