-- Email may carry an HTML part besides its text, and the one-click
-- unsubscribe link of its List-Unsubscribe header.

-- +goose Up
ALTER TABLE templates ADD COLUMN html_body TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN html_body TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN unsubscribe_url TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE messages DROP COLUMN unsubscribe_url;
ALTER TABLE messages DROP COLUMN html_body;
ALTER TABLE templates DROP COLUMN html_body;
