-- Customer merges and erasures. A merged customer's account keeps its row
-- (its ledger refers to it) with no points and the survivor's id in
-- merged_into; the points move through a pair of transfer entries booked
-- under the merge event on both accounts, so an event now books at most
-- one entry per account. The ledger also records how each entry changed
-- the lifetime total (a purchase: its points), so both columns add up per
-- account. Erasures reaching the service are recorded for the audit.

-- +goose Up
ALTER TABLE loyalty_accounts ADD COLUMN merged_into TEXT;
CREATE INDEX loyalty_accounts_merged_into ON loyalty_accounts (merged_into) WHERE merged_into IS NOT NULL;

ALTER TABLE points_ledger ADD COLUMN lifetime_points BIGINT NOT NULL DEFAULT 0;
ALTER TABLE points_ledger ADD COLUMN counterpart_id TEXT NOT NULL DEFAULT '';
UPDATE points_ledger SET lifetime_points = points WHERE reason = 'purchase';
DROP INDEX points_ledger_event_id;
CREATE UNIQUE INDEX points_ledger_event_account ON points_ledger (event_id, customer_id);

CREATE TABLE customer_erasures (
    customer_id TEXT PRIMARY KEY,
    erase_time  BIGINT NOT NULL,
    record_time BIGINT NOT NULL
);

-- +goose Down
DROP TABLE customer_erasures;
DROP INDEX points_ledger_event_account;
CREATE UNIQUE INDEX points_ledger_event_id ON points_ledger (event_id);
ALTER TABLE points_ledger DROP COLUMN counterpart_id;
ALTER TABLE points_ledger DROP COLUMN lifetime_points;
DROP INDEX loyalty_accounts_merged_into;
ALTER TABLE loyalty_accounts DROP COLUMN merged_into;
