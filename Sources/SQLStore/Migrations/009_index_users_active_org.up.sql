-- Indexes users by active organization (only users that have one): finds an organization's
-- active users, and serves the SET NULL action when an organization is deleted.
-- Built CONCURRENTLY so writes to users go on during the build, hence outside a transaction.
-- The drop first: a failed concurrent build leaves an INVALID index that IF NOT EXISTS would keep.
-- A concurrent build waits for older transactions and may scan a large table: longer timeouts.
-- sqlstore:no-transaction
-- sqlstore:lock-timeout=1m
-- sqlstore:statement-timeout=1h

DROP INDEX CONCURRENTLY IF EXISTS idx_users_active_org;

CREATE INDEX CONCURRENTLY idx_users_active_org ON users (active_org_id) WHERE active_org_id IS NOT NULL;
