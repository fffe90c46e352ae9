-- +goose Up
-- ListCustomers pages by keyset: a page is the rows after the last one of
-- the page before, in the order asked for, with the id breaking ties. An
-- index on the order's column and the id answers any page with a short
-- range scan (read backwards for a descending order). Creation time had
-- one (customers_create_time_id); these add the other orders a customer
-- list is sorted by, name and last change. The enum-like orders (kind,
-- lifecycle_stage, owner_id) have none: each costs an import an index
-- entry per customer, and they sort few distinct values, so a list by
-- them is mostly filtered as well; their pages are as fast deep as first
-- but sort the matching rows.
CREATE INDEX customers_display_name_id ON customers (display_name, id);
CREATE INDEX customers_update_time_id ON customers (update_time, id);

-- +goose Down
DROP INDEX customers_update_time_id;
DROP INDEX customers_display_name_id;
