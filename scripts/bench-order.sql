-- pgbench ceiling for POST /orders: the very statement OrderStore.placeOrder sends
-- (Sources/SQLStore/OrderStore+PlaceOrder.swift), without an Idempotency-Key, for a random
-- user and two distinct random products of [plo, phi], one unit each (what the wrk script posts).
-- Variables (-D): users, plo, phi. Run with -M prepared: parsed and planned once per connection.
\set u random(1, :users)
\set a random(:plo, :phi)
\set b random(:plo, :phi - 1)
\set b :b + case when :b >= :a then 1 else 0 end
WITH request AS (
    SELECT product_id, quantity FROM unnest(ARRAY[:a::bigint, :b::bigint], ARRAY[1, 1]::int[]) AS r(product_id, quantity)
),
locked AS MATERIALIZED (
    SELECT p.id, p.price FROM products p
    WHERE p.id = ANY(ARRAY[:a::bigint, :b::bigint])
    ORDER BY p.id
    FOR UPDATE
),
taken AS (
    UPDATE products p
    SET stock_quantity = p.stock_quantity - r.quantity, version = p.version + 1, updated_at = now()
    FROM request r JOIN locked l ON l.id = r.product_id
    WHERE p.id = r.product_id AND p.id = ANY(ARRAY[:a::bigint, :b::bigint])
      AND NOT EXISTS (SELECT 1 FROM idempotency_keys WHERE key = NULL::text)
    RETURNING p.id, l.price, r.quantity
),
placed AS (
    INSERT INTO orders (user_id, order_number, status, total_amount, organization_id)
    SELECT :u::bigint, 'SO-' || lpad(n::text, greatest(8, length(n::text)), '0'), 'pending',
           (SELECT sum(price * quantity) FROM taken),
           (SELECT active_org_id FROM users WHERE id = :u::bigint)
    FROM (SELECT nextval('order_number_seq') AS n) AS number
    WHERE EXISTS (SELECT 1 FROM taken)
    RETURNING id, user_id, organization_id, order_number, status, total_amount, created_at, updated_at, version
),
items AS (
    INSERT INTO order_items (order_id, product_id, quantity, unit_price, subtotal)
    SELECT placed.id, r.product_id, r.quantity, coalesce(t.price, 0), coalesce(t.price, 0) * r.quantity
    FROM placed CROSS JOIN request r LEFT JOIN taken t ON t.id = r.product_id
    RETURNING id, order_id, product_id, quantity, unit_price, subtotal, created_at
),
history AS (
    INSERT INTO order_status_changes (order_id, from_status, to_status, changed_at)
    SELECT id, NULL, 'pending', created_at FROM placed
),
keyed AS (
    INSERT INTO idempotency_keys (key, request_hash, order_id)
    SELECT NULL::text, NULL::text, id FROM placed WHERE NULL::text IS NOT NULL
)
SELECT placed.*, items.*
FROM placed JOIN items ON items.order_id = placed.id
ORDER BY items.product_id;
