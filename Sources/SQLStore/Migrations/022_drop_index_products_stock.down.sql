-- sqlstore:no-transaction
-- sqlstore:lock-timeout=1m
-- sqlstore:statement-timeout=1h
-- Reverses 022_drop_index_products_stock.up.sql. Dropped first because a failed concurrent
-- build leaves an INVALID index behind.
DROP INDEX CONCURRENTLY IF EXISTS idx_products_stock;

CREATE INDEX CONCURRENTLY idx_products_stock ON products (id) WHERE stock_quantity > 0;
