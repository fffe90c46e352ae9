-- Customer merges and erasures. A merged customer keeps its row with the
-- survivor's id in merged_into, its purchases move to the survivor, and
-- purchase events still naming it count for the survivor. Erasures reaching
-- the service are recorded for the audit; nothing else here is personal.

-- +goose Up
ALTER TABLE customers ADD COLUMN merged_into TEXT;
CREATE INDEX customers_merged_into ON customers (merged_into) WHERE merged_into IS NOT NULL;

CREATE TABLE customer_erasures (
    customer_id TEXT PRIMARY KEY,
    erase_time  BIGINT NOT NULL,
    record_time BIGINT NOT NULL
);

-- +goose Down
DROP TABLE customer_erasures;
DROP INDEX customers_merged_into;
ALTER TABLE customers DROP COLUMN merged_into;
