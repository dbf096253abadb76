-- pgbench ceiling for the first page of GET /users/{id}/orders (20 orders, one more read to
-- know whether another page follows): OrderStore.orders(userId:limit:cursor:)'s statement.
-- Variables (-D): users.
\set u random(1, :users)
SELECT id, user_id, organization_id, order_number, status, total_amount, created_at, updated_at, version,
       (extract(epoch FROM created_at) * 1000000)::bigint
FROM orders
WHERE user_id = :u::bigint
ORDER BY created_at DESC, id DESC LIMIT 21;
