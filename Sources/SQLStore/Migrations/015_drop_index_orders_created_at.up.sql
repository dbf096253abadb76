-- sqlstore:no-transaction
-- sqlstore:lock-timeout=1m
-- idx_orders_created_at (from the reference's 003) serves no query of SQLStore: pages of orders
-- are per user or per organization (idx_orders_user_created, idx_orders_organization_created)
-- and the worker reads idx_orders_pending. It cost every order insert an index update, and it
-- misled the planner: for the last cursor page of a user with many orders, PostgreSQL walked it
-- backwards through every older order of every user (18 ms against 0.12 ms, see
-- docs/benchmarks.md). Dropped CONCURRENTLY: orders is a live table.
DROP INDEX CONCURRENTLY IF EXISTS idx_orders_created_at;
