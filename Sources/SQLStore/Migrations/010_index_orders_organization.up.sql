-- Indexes an organization's orders, newest first: cursor pages of GET /organizations/{id}/orders,
-- and the RESTRICT check when an organization is deleted. Orders without one are left out.
-- Built CONCURRENTLY so orders keep being placed during the build, hence outside a transaction.
-- The drop first: a failed concurrent build leaves an INVALID index that IF NOT EXISTS would keep.
-- A concurrent build waits for older transactions and may scan a large table: longer timeouts.
-- sqlstore:no-transaction
-- sqlstore:lock-timeout=1m
-- sqlstore:statement-timeout=1h

DROP INDEX CONCURRENTLY IF EXISTS idx_orders_organization_created;

CREATE INDEX CONCURRENTLY idx_orders_organization_created
    ON orders (organization_id, created_at DESC, id DESC)
    WHERE organization_id IS NOT NULL;
