-- Purchases are bucketed into the company's calendar days (the models'
-- transactions) and months (demand), in the time zone the service is
-- configured with, not UTC's: a purchase at 23:30 in Shanghai is on that
-- day. A purchase's day is stored with it, computed in Go from the zone's
-- rules (daylight saving included); bucket_zone names the zone the stored
-- days and months are in. Rows from before are in UTC, as they were
-- counted; the service re-buckets them at start when configured with
-- another zone (sqlstore.Store.UseTimeZone). The column may be NULL: the
-- previous release, still running during a rolling update, does not write
-- it; such rows count in UTC days until the next start fills them in.

-- +goose Up
ALTER TABLE purchases ADD COLUMN local_day BIGINT;
UPDATE purchases SET local_day = occur_time / 86400000000;
-- The whole-population aggregate reads a customer's purchases, with their
-- day, from this index alone.
DROP INDEX purchases_by_customer;
CREATE INDEX purchases_by_customer ON purchases (customer_id, occur_time, currency, amount_minor, local_day);
CREATE TABLE bucket_zone (
    id        INTEGER PRIMARY KEY,
    time_zone TEXT NOT NULL
);
INSERT INTO bucket_zone (id, time_zone) VALUES (1, 'UTC');

-- +goose Down
DROP TABLE bucket_zone;
DROP INDEX purchases_by_customer;
CREATE INDEX purchases_by_customer ON purchases (customer_id, occur_time, currency, amount_minor);
ALTER TABLE purchases DROP COLUMN local_day;
