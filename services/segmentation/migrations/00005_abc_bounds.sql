-- The ABC class boundaries of the last full recompute (domain.ABCBounds as
-- JSON), kept with the RFM quintiles: events classify their customer
-- against them in constant time instead of ranking every customer. Empty
-- until a recompute ranks some revenue; events rank live until then.

-- +goose Up
ALTER TABLE rfm_bounds ADD COLUMN abc TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE rfm_bounds DROP COLUMN abc;
