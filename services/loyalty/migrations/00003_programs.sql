-- Programs with their rules, memberships, and an append-only ledger whose
-- sum is the balance (no balance column anywhere). Rules are one JSON
-- document per program: they are read and written whole, never queried.
-- The accounts of 00001 become memberships of a default program, their
-- entries ledger entries, when there are any.

-- +goose Up
CREATE TABLE programs (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    rules       TEXT NOT NULL,
    request_id  TEXT,
    member_seq  BIGINT NOT NULL DEFAULT 0,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);
CREATE UNIQUE INDEX programs_request_id ON programs (request_id) WHERE request_id IS NOT NULL;

CREATE TABLE members (
    program_id      TEXT NOT NULL REFERENCES programs (id),
    customer_id     TEXT NOT NULL,
    member_number   TEXT NOT NULL,
    status          TEXT NOT NULL,
    tier_code       TEXT NOT NULL,
    tier_since      BIGINT NOT NULL,
    grace_until     BIGINT NOT NULL DEFAULT 0,
    merged_into     TEXT,
    expired_through BIGINT NOT NULL DEFAULT 0,
    join_time       BIGINT NOT NULL,
    update_time     BIGINT NOT NULL,
    PRIMARY KEY (program_id, customer_id)
);
CREATE INDEX members_merged_into ON members (program_id, merged_into) WHERE merged_into IS NOT NULL;
CREATE INDEX members_customer ON members (customer_id);

CREATE TABLE ledger_entries (
    id                 TEXT PRIMARY KEY,
    program_id         TEXT NOT NULL,
    customer_id        TEXT NOT NULL,
    origin_customer_id TEXT NOT NULL,
    kind               TEXT NOT NULL,
    source             TEXT NOT NULL,
    points             BIGINT NOT NULL,
    lifetime_points    BIGINT NOT NULL,
    spend_minor        BIGINT NOT NULL,
    cause              TEXT NOT NULL,
    order_id           TEXT NOT NULL,
    interaction_id     TEXT NOT NULL,
    rule_ids           TEXT NOT NULL,
    actor              TEXT NOT NULL,
    reason             TEXT NOT NULL,
    counterpart_id     TEXT NOT NULL,
    day                TEXT NOT NULL,
    occur_time         BIGINT NOT NULL,
    create_time        BIGINT NOT NULL,
    available_time     BIGINT NOT NULL,
    expire_time        BIGINT NOT NULL
);
-- Every entry is idempotent by its cause: the last line of defence against
-- booking a purchase, a return or a redemption twice.
CREATE UNIQUE INDEX ledger_entries_cause ON ledger_entries (program_id, cause);
CREATE INDEX ledger_entries_member ON ledger_entries (program_id, customer_id, id);
CREATE INDEX ledger_entries_expiring ON ledger_entries (program_id, expire_time) WHERE expire_time > 0 AND points > 0;
CREATE INDEX ledger_entries_day ON ledger_entries (program_id, customer_id, day) WHERE day <> '';

CREATE TABLE purchase_earnings (
    program_id     TEXT NOT NULL,
    interaction_id TEXT NOT NULL,
    customer_id    TEXT NOT NULL,
    earning        TEXT NOT NULL,
    PRIMARY KEY (program_id, interaction_id)
);

CREATE TABLE rewards (
    id              TEXT PRIMARY KEY,
    program_id      TEXT NOT NULL REFERENCES programs (id),
    name            TEXT NOT NULL,
    points_cost     BIGINT NOT NULL,
    stock           BIGINT NOT NULL,
    unlimited_stock BIGINT NOT NULL,
    min_tier_code   TEXT NOT NULL,
    member_day_only BIGINT NOT NULL,
    start_time      BIGINT NOT NULL,
    end_time        BIGINT NOT NULL,
    request_id      TEXT,
    create_time     BIGINT NOT NULL,
    update_time     BIGINT NOT NULL
);
CREATE UNIQUE INDEX rewards_request_id ON rewards (request_id) WHERE request_id IS NOT NULL;
CREATE INDEX rewards_program ON rewards (program_id, id);

CREATE TABLE redemptions (
    id          TEXT PRIMARY KEY,
    program_id  TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    reward_id   TEXT NOT NULL REFERENCES rewards (id),
    points      BIGINT NOT NULL,
    state       TEXT NOT NULL,
    request_id  TEXT,
    create_time BIGINT NOT NULL,
    cancel_time BIGINT NOT NULL
);
CREATE UNIQUE INDEX redemptions_request_id ON redemptions (request_id) WHERE request_id IS NOT NULL;

CREATE TABLE expiry_notices (
    program_id  TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    expire_time BIGINT NOT NULL,
    PRIMARY KEY (program_id, customer_id, expire_time)
);

INSERT INTO programs (id, name, rules, member_seq, create_time, update_time)
SELECT '01900000-0000-7000-8000-000000000001', 'Default',
    '{"name":"Default","time_zone":"Asia/Shanghai","auto_enroll":true,"welcome_points":0,"base_rates":[{"currency_code":"CNY","points_per_unit":1}],"earn_rules":null,"currency_code":"CNY","min_spend_minor":0,"order_cap_points":0,"day_cap_points":0,"engagement_rules":null,"tiers":[{"code":"normal","name":"Normal","qualify_points":0,"multiplier_percent":100},{"code":"vip","name":"VIP","qualify_points":10000,"multiplier_percent":100}],"tier_window_months":12,"tier_grace_days":30,"pending_days":0,"expiry_kind":"never","expiry_months":0,"expiry_notice_days":30,"member_days":null}',
    (SELECT COUNT(*) FROM loyalty_accounts), MIN(create_time), MAX(update_time)
FROM loyalty_accounts HAVING COUNT(*) > 0;

INSERT INTO members (program_id, customer_id, member_number, status, tier_code, tier_since, merged_into, join_time, update_time)
SELECT '01900000-0000-7000-8000-000000000001', customer_id, customer_id,
    CASE WHEN merged_into IS NULL THEN 'active' ELSE 'merged' END, LOWER(tier), update_time, merged_into, create_time, update_time
FROM loyalty_accounts;

INSERT INTO ledger_entries (id, program_id, customer_id, origin_customer_id, kind, source, points, lifetime_points, spend_minor,
    cause, order_id, interaction_id, rule_ids, actor, reason, counterpart_id, day, occur_time, create_time, available_time, expire_time)
SELECT id, '01900000-0000-7000-8000-000000000001', customer_id, customer_id,
    CASE reason WHEN 'purchase' THEN 'earn' ELSE 'transfer' END,
    CASE reason WHEN 'purchase' THEN 'purchase' ELSE 'merge' END,
    points, lifetime_points, 0,
    CASE reason WHEN 'purchase' THEN 'purchase:' || interaction_id ELSE reason || ':' || event_id || ':' || customer_id END,
    '', interaction_id, '', '', '', counterpart_id, '', credit_time, credit_time, credit_time, 0
FROM points_ledger;

DROP TABLE points_ledger;
DROP TABLE loyalty_accounts;

-- +goose Down
DROP TABLE expiry_notices;
DROP TABLE redemptions;
DROP TABLE rewards;
DROP TABLE purchase_earnings;
DROP TABLE ledger_entries;
DROP TABLE members;
DROP TABLE programs;
CREATE TABLE loyalty_accounts (
    customer_id     TEXT PRIMARY KEY,
    points_balance  BIGINT NOT NULL,
    lifetime_points BIGINT NOT NULL,
    tier            TEXT NOT NULL,
    create_time     BIGINT NOT NULL,
    update_time     BIGINT NOT NULL,
    merged_into     TEXT
);
CREATE TABLE points_ledger (
    id              TEXT PRIMARY KEY,
    customer_id     TEXT NOT NULL REFERENCES loyalty_accounts (customer_id),
    points          BIGINT NOT NULL,
    reason          TEXT NOT NULL,
    interaction_id  TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    credit_time     BIGINT NOT NULL,
    lifetime_points BIGINT NOT NULL DEFAULT 0,
    counterpart_id  TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX points_ledger_event_account ON points_ledger (event_id, customer_id);
