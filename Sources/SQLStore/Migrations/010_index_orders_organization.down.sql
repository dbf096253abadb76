-- Reverses 010: removes idx_orders_organization_created without blocking writes to orders.
-- sqlstore:no-transaction
-- sqlstore:lock-timeout=1m

DROP INDEX CONCURRENTLY IF EXISTS idx_orders_organization_created;
