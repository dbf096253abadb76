-- Reverses 004: removes the order_items table.
-- No CASCADE: if a later migration's object still depends on order_items, fail instead of dropping it.

DROP INDEX IF EXISTS idx_order_items_product_id;
DROP TABLE IF EXISTS order_items;
