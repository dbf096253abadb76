-- sqlstore:no-transaction
DROP INDEX CONCURRENTLY IF EXISTS idx_todos_open;
