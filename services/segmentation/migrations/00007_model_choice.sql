-- Which repeat-purchase model a fit's r, alpha, a, b belong to (bgnbd or
-- mbgnbd; fits made before the choice are BG/NBD) and why it was chosen.

-- +goose Up
ALTER TABLE model_fits ADD COLUMN model TEXT NOT NULL DEFAULT 'bgnbd';
ALTER TABLE model_fits ADD COLUMN choice TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE model_fits DROP COLUMN choice;
ALTER TABLE model_fits DROP COLUMN model;
