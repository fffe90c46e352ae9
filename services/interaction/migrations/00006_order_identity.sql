-- A purchase's order id is its natural identity in the system that
-- reported it (interactions.source, "" for purchases posted without one):
-- the same order reported twice is one purchase (see domain.OrderKey).
-- purchases.order_source copies the source of each purchase that carries
-- an order id, and a unique index on (order_source, order_id) keeps one
-- purchase per order, also against concurrent posts.
--
-- Data recorded before this migration may hold the same order twice. Only
-- the first purchase of each order (by create time, then id) gets its
-- order_source; the later copies keep NULL, which never collides in a
-- unique index, so the migration cannot fail on old data, nothing is
-- deleted (their points were credited and their events published long
-- ago), and a repeat finds the first purchase, as it would have.

-- +goose Up
ALTER TABLE purchases ADD COLUMN order_source TEXT;
-- Only for the backfill below: finding a purchase's earlier copies by
-- order id, without reading the whole table for each purchase.
CREATE INDEX purchases_order_backfill ON purchases (order_id);
UPDATE purchases SET order_source = (SELECT i.source FROM interactions i WHERE i.id = purchases.interaction_id)
WHERE order_id <> '' AND NOT EXISTS (
    SELECT 1 FROM purchases p2
    JOIN interactions i2 ON i2.id = p2.interaction_id
    JOIN interactions i1 ON i1.id = purchases.interaction_id
    WHERE p2.order_id = purchases.order_id AND p2.interaction_id <> purchases.interaction_id
      AND i2.source = i1.source
      AND (i2.create_time < i1.create_time OR (i2.create_time = i1.create_time AND i2.id < i1.id)));
DROP INDEX purchases_order_backfill;
CREATE UNIQUE INDEX purchases_order ON purchases (order_source, order_id);

-- +goose Down
DROP INDEX purchases_order;
ALTER TABLE purchases DROP COLUMN order_source;
