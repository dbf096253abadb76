-- Reverses 018_add_products_in_stock.up.sql: place_order as 016 made it (without in_stock),
-- then the constraint, trigger, function and column. 019 to 022 must be rolled back first.

CREATE OR REPLACE FUNCTION place_order(
    p_product_ids BIGINT[], p_quantities INT[], p_idempotency_key TEXT, p_user_id BIGINT, p_request_hash TEXT
)
RETURNS TABLE (
    id BIGINT, user_id BIGINT, organization_id BIGINT, order_number VARCHAR, status VARCHAR,
    total_amount NUMERIC, created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ, version INT,
    item_id BIGINT, item_order_id BIGINT, product_id BIGINT, quantity INT, unit_price NUMERIC,
    subtotal NUMERIC, item_created_at TIMESTAMPTZ
)
LANGUAGE plpgsql
VOLATILE
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH request AS (
        SELECT r.product_id, r.quantity FROM unnest(p_product_ids, p_quantities) AS r(product_id, quantity)
    ),
    locked AS MATERIALIZED (
        SELECT p.id, p.price FROM products p
        WHERE p.id = ANY(p_product_ids)
        ORDER BY p.id
        FOR UPDATE
    ),
    taken AS (
        UPDATE products p
        SET stock_quantity = p.stock_quantity - r.quantity, version = p.version + 1, updated_at = now()
        FROM request r JOIN locked l ON l.id = r.product_id
        -- ANY() again, for the generic plan: estimating ten rows from the array, it would
        -- otherwise scan all of a small catalogue (dead row versions too) and hash-join it.
        WHERE p.id = r.product_id AND p.id = ANY(p_product_ids)
          AND NOT EXISTS (SELECT 1 FROM idempotency_keys k WHERE k.key = p_idempotency_key)
        RETURNING p.id, l.price, r.quantity
    ),
    placed AS (
        INSERT INTO orders (user_id, order_number, status, total_amount, organization_id)
        SELECT p_user_id, 'SO-' || lpad(n::text, greatest(8, length(n::text)), '0'), 'pending',
               (SELECT sum(t.price * t.quantity) FROM taken t),
               (SELECT u.active_org_id FROM users u WHERE u.id = p_user_id)
        FROM (SELECT nextval('order_number_seq') AS n) AS number
        WHERE EXISTS (SELECT 1 FROM taken)
        RETURNING orders.id, orders.user_id, orders.organization_id, orders.order_number, orders.status,
                  orders.total_amount, orders.created_at, orders.updated_at, orders.version
    ),
    items AS (
        -- From the request, not from what was taken: a product that does not exist has no
        -- price (0 here) and fails order_items_product_id_fkey, aborting the statement.
        INSERT INTO order_items (order_id, product_id, quantity, unit_price, subtotal)
        SELECT placed.id, r.product_id, r.quantity, coalesce(t.price, 0), coalesce(t.price, 0) * r.quantity
        FROM placed CROSS JOIN request r LEFT JOIN taken t ON t.id = r.product_id
        RETURNING order_items.id, order_items.order_id, order_items.product_id, order_items.quantity,
                  order_items.unit_price, order_items.subtotal, order_items.created_at
    ),
    history AS (
        INSERT INTO order_status_changes (order_id, from_status, to_status, changed_at)
        SELECT placed.id, NULL, 'pending', placed.created_at FROM placed
    ),
    keyed AS (
        INSERT INTO idempotency_keys (key, request_hash, order_id)
        SELECT p_idempotency_key, p_request_hash, placed.id FROM placed WHERE p_idempotency_key IS NOT NULL
    )
    SELECT placed.*, items.*
    FROM placed JOIN items ON items.order_id = placed.id
    ORDER BY items.product_id;
END
$$;

COMMENT ON FUNCTION place_order(BIGINT[], INT[], TEXT, BIGINT, TEXT) IS
    'Places an order in one statement (lines merged and sorted by product id by the caller): takes '
    'the stock, prices the lines, writes the order, its items, its first status change and its '
    'idempotency key; returns one row per item. See OrderStore.placeOrder.';

ALTER TABLE products DROP CONSTRAINT IF EXISTS products_in_stock_check;
DROP TRIGGER IF EXISTS products_keep_in_stock ON products;
DROP FUNCTION IF EXISTS products_keep_in_stock();
ALTER TABLE products DROP COLUMN IF EXISTS in_stock;
