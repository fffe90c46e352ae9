-- The loyalty programs as the loyalty service announces them (its
-- ProgramChanged events): their names and member-day rules, so member-day
-- notices follow the one definition loyalty earns by. And the values each
-- message was rendered with, so a queued message can be rendered again
-- for another recipient (the survivor of a merge).

-- +goose Up
CREATE TABLE loyalty_programs (
    program_id  TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    time_zone   TEXT NOT NULL,
    -- JSON: [{"id": "...", "weekday": 3}, {"id": "...", "month_day": 18}]
    member_days TEXT NOT NULL,
    update_time BIGINT NOT NULL
);

CREATE TABLE message_vars (
    message_id TEXT PRIMARY KEY,
    -- JSON object of the event's values (not the customer's own).
    vars       TEXT NOT NULL
);

-- +goose Down
DROP TABLE message_vars;
DROP TABLE loyalty_programs;
