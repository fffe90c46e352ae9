-- +goose Up
-- Only the postgres form of this version runs there (see dialectFS).
CREATE TABLE migrated_for (dialect TEXT NOT NULL);
INSERT INTO migrated_for (dialect) VALUES ('postgres');

-- +goose Down
DROP TABLE migrated_for;
