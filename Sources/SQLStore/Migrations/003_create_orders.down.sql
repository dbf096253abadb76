-- Reverses 003: removes the orders table.
-- No CASCADE: if a later migration's object still depends on orders, fail instead of dropping it.

DROP INDEX IF EXISTS idx_orders_user_created;
DROP INDEX IF EXISTS idx_orders_created_at;
DROP INDEX IF EXISTS idx_orders_status;
DROP TABLE IF EXISTS orders;
