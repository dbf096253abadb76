-- For contrast: the same page read by OFFSET (the API serves user orders by cursor only, so this
-- runs in pgbench alone). Written as well as OFFSET allows: the rows skipped are counted in the
-- index-only scan of (user_id, created_at DESC, id DESC), and only the page's 21 rows are then
-- read from the table. (A plain "... ORDER BY created_at DESC, id DESC LIMIT 21 OFFSET n" lets
-- the planner walk idx_orders_created_at instead (dropped by migration 015); see docs/benchmarks.md.)
-- Variables (-D): deep (the user), off (rows skipped).
SELECT id, user_id, organization_id, order_number, status, total_amount, created_at, updated_at, version,
       (extract(epoch FROM created_at) * 1000000)::bigint
FROM orders
WHERE id IN (SELECT id FROM orders WHERE user_id = :deep::bigint
             ORDER BY created_at DESC, id DESC LIMIT 21 OFFSET :off::bigint)
ORDER BY created_at DESC, id DESC;
