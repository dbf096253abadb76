-- sqlstore:no-transaction
-- sqlstore:lock-timeout=1m
-- Reverses 021_index_products_in_stock.up.sql.
DROP INDEX CONCURRENTLY IF EXISTS idx_products_in_stock;
