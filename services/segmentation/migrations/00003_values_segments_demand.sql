-- The customer facts read model and the values computed from it (ABC,
-- RFM, predictions), profile fields segments filter on, returns, purchase
-- lines for demand, model fits, rule segments and their members. Valid on
-- SQLite and PostgreSQL; times are BIGINT unix micros, money minor units.

-- +goose Up

-- A customer's purchases in time order with the columns the facts sum:
-- the whole-population aggregate reads it alone, in customer order,
-- without sorting the table.
DROP INDEX purchases_by_customer;
CREATE INDEX purchases_by_customer ON purchases (customer_id, occur_time, currency, amount_minor);

-- Returns subtract their refund from spend; the purchase they return stays
-- a purchase (it happened, and the models count transactions).
CREATE TABLE returns (
    interaction_id          TEXT PRIMARY KEY,
    customer_id             TEXT NOT NULL,
    purchase_interaction_id TEXT NOT NULL,
    currency                TEXT NOT NULL,
    amount_minor            BIGINT NOT NULL,
    occur_time              BIGINT NOT NULL
);
CREATE INDEX returns_by_customer ON returns (customer_id, occur_time);

-- Lines of purchases (positive quantity) and returns (negative), with the
-- month (year*12 + month-1) they fall in, for demand per category.
CREATE TABLE purchase_lines (
    interaction_id TEXT NOT NULL,
    line_no        INTEGER NOT NULL,
    customer_id    TEXT NOT NULL,
    category       TEXT NOT NULL,
    quantity       BIGINT NOT NULL,
    currency       TEXT NOT NULL,
    amount_minor   BIGINT NOT NULL,
    month          INTEGER NOT NULL,
    PRIMARY KEY (interaction_id, line_no)
);
CREATE INDEX purchase_lines_by_category ON purchase_lines (category, month);
CREATE INDEX purchase_lines_by_customer ON purchase_lines (customer_id);

-- Profile fields the customer events carry that segments filter on; no
-- personal data (names, contacts) is kept.
CREATE TABLE customer_profiles (
    customer_id     TEXT PRIMARY KEY,
    kind            TEXT NOT NULL DEFAULT '',
    type            TEXT NOT NULL DEFAULT '',
    lifecycle_stage TEXT NOT NULL DEFAULT '',
    owner_id        TEXT NOT NULL DEFAULT '',
    team_id         TEXT NOT NULL DEFAULT ''
);
CREATE TABLE customer_tags (
    customer_id TEXT NOT NULL,
    tag         TEXT NOT NULL,
    PRIMARY KEY (customer_id, tag)
);
CREATE TABLE customer_attributes (
    customer_id TEXT NOT NULL,
    name        TEXT NOT NULL,
    text_value  TEXT NOT NULL,
    num_value   DOUBLE PRECISION,
    PRIMARY KEY (customer_id, name)
);

-- One row per customer: facts from the purchase history and the values
-- computed from them. Money in minor units of the reporting currency,
-- except the model's (float) outputs, also in minor units.
CREATE TABLE customer_values (
    customer_id         TEXT PRIMARY KEY,
    purchase_count      BIGINT NOT NULL,
    purchase_days       BIGINT NOT NULL,
    first_time          BIGINT,
    last_time           BIGINT,
    lifetime_spend      BIGINT NOT NULL,
    trailing_spend      BIGINT NOT NULL,
    refunds             BIGINT NOT NULL,
    repeat_spend        BIGINT NOT NULL,
    abc_class           TEXT NOT NULL,
    share_above         DOUBLE PRECISION NOT NULL,
    recency_score       INTEGER NOT NULL,
    frequency_score     INTEGER NOT NULL,
    monetary_score      INTEGER NOT NULL,
    rfm_segment         TEXT NOT NULL,
    predicted           INTEGER NOT NULL,
    p_alive             DOUBLE PRECISION NOT NULL,
    expected_purchases  DOUBLE PRECISION NOT NULL,
    expected_aov        DOUBLE PRECISION NOT NULL,
    clv                 DOUBLE PRECISION NOT NULL,
    compute_time        BIGINT NOT NULL
);

-- Quintile bounds of the last full recompute, so a purchase scores its
-- buyer incrementally against the same population (one row, id 1).
CREATE TABLE rfm_bounds (
    id           INTEGER PRIMARY KEY,
    recency      TEXT NOT NULL,
    frequency    TEXT NOT NULL,
    monetary     TEXT NOT NULL,
    compute_time BIGINT NOT NULL
);

-- Model fits; the latest is current.
CREATE TABLE model_fits (
    id                   TEXT PRIMARY KEY,
    fit_time             BIGINT NOT NULL,
    calibration_end      BIGINT NOT NULL,
    r                    DOUBLE PRECISION NOT NULL,
    alpha                DOUBLE PRECISION NOT NULL,
    a                    DOUBLE PRECISION NOT NULL,
    b                    DOUBLE PRECISION NOT NULL,
    log_likelihood       DOUBLE PRECISION NOT NULL,
    customer_count       BIGINT NOT NULL,
    p                    DOUBLE PRECISION NOT NULL,
    q                    DOUBLE PRECISION NOT NULL,
    gamma                DOUBLE PRECISION NOT NULL,
    spend_log_likelihood DOUBLE PRECISION NOT NULL,
    repeat_count         BIGINT NOT NULL,
    duration_micros      BIGINT NOT NULL,
    bgnbd_micros         BIGINT NOT NULL
);
CREATE INDEX model_fits_by_time ON model_fits (fit_time);

CREATE TABLE segments (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    filter      TEXT NOT NULL,
    request_id  TEXT UNIQUE,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    etag        TEXT NOT NULL
);
CREATE TABLE segment_members (
    segment_id  TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    PRIMARY KEY (segment_id, customer_id)
);
CREATE INDEX segment_members_by_customer ON segment_members (customer_id);

-- +goose Down
DROP TABLE segment_members;
DROP TABLE segments;
DROP TABLE model_fits;
DROP TABLE rfm_bounds;
DROP TABLE customer_values;
DROP TABLE customer_attributes;
DROP TABLE customer_tags;
DROP TABLE customer_profiles;
DROP TABLE purchase_lines;
DROP TABLE returns;
DROP INDEX purchases_by_customer;
CREATE INDEX purchases_by_customer ON purchases (customer_id, occur_time);
