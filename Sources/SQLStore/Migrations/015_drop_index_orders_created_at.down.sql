-- sqlstore:no-transaction
-- sqlstore:lock-timeout=1m
-- sqlstore:statement-timeout=1h
-- Reverses 015_drop_index_orders_created_at.up.sql. Dropped first because a failed concurrent
-- build leaves an INVALID index behind.
DROP INDEX CONCURRENTLY IF EXISTS idx_orders_created_at;

CREATE INDEX CONCURRENTLY idx_orders_created_at ON orders (created_at);
