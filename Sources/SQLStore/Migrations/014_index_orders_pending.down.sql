-- sqlstore:no-transaction
-- sqlstore:lock-timeout=1m
-- Reverses 014_index_orders_pending.up.sql.
DROP INDEX CONCURRENTLY IF EXISTS idx_orders_pending;
