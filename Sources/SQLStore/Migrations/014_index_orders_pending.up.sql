-- sqlstore:no-transaction
-- sqlstore:lock-timeout=1m
-- sqlstore:statement-timeout=1h
-- The order worker's queue: pending orders, oldest first. Partial, so it holds only the
-- (few) pending orders however many orders exist. Built CONCURRENTLY: orders is a live table.
-- Dropped first because a failed concurrent build leaves an INVALID index behind.
DROP INDEX CONCURRENTLY IF EXISTS idx_orders_pending;

CREATE INDEX CONCURRENTLY idx_orders_pending ON orders (created_at, id) WHERE status = 'pending';
