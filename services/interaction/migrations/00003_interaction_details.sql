-- Every channel and kind: direction, agent and team, the case an
-- interaction belongs to, channel-specific details (a JSON object as
-- text), warranty ends of purchases, and returns with their lines.

-- +goose Up
ALTER TABLE interactions ADD COLUMN direction TEXT NOT NULL DEFAULT '';
ALTER TABLE interactions ADD COLUMN agent_id TEXT NOT NULL DEFAULT '';
ALTER TABLE interactions ADD COLUMN team_id TEXT NOT NULL DEFAULT '';
ALTER TABLE interactions ADD COLUMN case_id TEXT NOT NULL DEFAULT '';
ALTER TABLE interactions ADD COLUMN details TEXT NOT NULL DEFAULT '';
ALTER TABLE purchases ADD COLUMN warranty_end BIGINT;

-- Partial indexes: most interactions (every ingested call) belong to no
-- case and carry no request id, and indexing nothing costs nothing.
CREATE INDEX interactions_case ON interactions (case_id) WHERE case_id <> '';
DROP INDEX interactions_request_id;
CREATE UNIQUE INDEX interactions_request_id ON interactions (request_id) WHERE request_id IS NOT NULL;

CREATE TABLE returns (
    interaction_id          TEXT PRIMARY KEY REFERENCES interactions (id),
    purchase_interaction_id TEXT NOT NULL,
    order_id                TEXT NOT NULL,
    currency_code           TEXT NOT NULL,
    refund_minor            BIGINT NOT NULL,
    reason                  TEXT NOT NULL
);

CREATE TABLE return_lines (
    interaction_id      TEXT NOT NULL REFERENCES returns (interaction_id),
    line_no             INTEGER NOT NULL,
    sku                 TEXT NOT NULL,
    product_name        TEXT NOT NULL,
    category            TEXT NOT NULL,
    quantity            BIGINT NOT NULL,
    unit_currency_code  TEXT NOT NULL,
    unit_price_minor    BIGINT NOT NULL,
    PRIMARY KEY (interaction_id, line_no)
);

-- +goose Down
DROP TABLE return_lines;
DROP TABLE returns;
DROP INDEX interactions_case;
DROP INDEX interactions_request_id;
CREATE UNIQUE INDEX interactions_request_id ON interactions (request_id);
ALTER TABLE purchases DROP COLUMN warranty_end;
ALTER TABLE interactions DROP COLUMN details;
ALTER TABLE interactions DROP COLUMN case_id;
ALTER TABLE interactions DROP COLUMN team_id;
ALTER TABLE interactions DROP COLUMN agent_id;
ALTER TABLE interactions DROP COLUMN direction;
