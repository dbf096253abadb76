-- Reverses 009: removes idx_users_active_org without blocking writes to users.
-- sqlstore:no-transaction
-- sqlstore:lock-timeout=1m

DROP INDEX CONCURRENTLY IF EXISTS idx_users_active_org;
