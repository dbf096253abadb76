-- pgbench ceiling for a deep cursor page of GET /users/{id}/orders?cursor=: the keyset
-- statement of OrderStore.orders(userId:limit:cursor:), after the row (micros, cid).
-- Variables (-D): deep (the user), micros (the cursor's created_at, microseconds since the
-- epoch), cid (the cursor's order id).
SELECT id, user_id, organization_id, order_number, status, total_amount, created_at, updated_at, version,
       (extract(epoch FROM created_at) * 1000000)::bigint
FROM orders
WHERE user_id = :deep::bigint
  AND (created_at, id) < (timestamptz 'epoch' + :micros::bigint * interval '1 microsecond', :cid::bigint)
ORDER BY created_at DESC, id DESC LIMIT 21;
