-- sqlstore:no-transaction
DROP INDEX CONCURRENTLY IF EXISTS idx_todos_open;
CREATE INDEX CONCURRENTLY idx_todos_open ON todos (created_at) WHERE NOT done;
