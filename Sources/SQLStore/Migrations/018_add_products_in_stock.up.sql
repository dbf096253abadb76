-- Step 1 of 5 of moving the in-stock partial index off stock_quantity (docs/benchmarks.md,
-- finding 9). idx_products_stock is `(id) WHERE stock_quantity > 0`: an index whose predicate
-- names a column makes every update of that column non-HOT, so every order wrote a new entry
-- into each of the four indexes of products, for each of its lines, and left dead versions
-- behind. products.in_stock holds the same fact in a column that an order changes in value only
-- when a product sells out; PostgreSQL compares old and new values, so every other stock update
-- can be HOT once the index names in_stock instead (021, 022).
--
-- The zero-downtime route, since a stored generated column would rewrite the table under ACCESS
-- EXCLUSIVE: here a plain nullable column (a catalog change only), kept by every writer from
-- now on; 019 backfills it in batches; 020 validates its CHECK without blocking writes; 021
-- builds the new index CONCURRENTLY; 022 drops the old one CONCURRENTLY.
--
-- Who keeps it: the writing statements set it themselves (place_order below; the store's
-- product create, update, stock adjustment and order cancellation). The trigger covers every
-- other writer (a server of the previous build during a rolling deploy, an operator's SQL): its
-- WHEN clause is evaluated without calling any function, so a write that keeps in_stock right
-- costs a comparison and nothing more. The CHECK makes a wrong value impossible rather than
-- unlikely: NOT VALID here (rows not yet backfilled are NULL), validated by 020.

ALTER TABLE products ADD COLUMN IF NOT EXISTS in_stock BOOLEAN;

COMMENT ON COLUMN products.in_stock IS
    'stock_quantity > 0, kept by every write (trigger products_keep_in_stock as the safety net) and '
    'checked by products_in_stock_check; the in-stock index is partial on it, so that stock updates '
    'which leave a product in stock stay HOT.';

CREATE OR REPLACE FUNCTION products_keep_in_stock()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.in_stock := NEW.stock_quantity > 0;
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION products_keep_in_stock() IS
    'Sets products.in_stock from stock_quantity for writers that do not set it themselves.';

DROP TRIGGER IF EXISTS products_keep_in_stock ON products;
CREATE TRIGGER products_keep_in_stock
    BEFORE INSERT OR UPDATE ON products
    FOR EACH ROW
    WHEN (NEW.in_stock IS DISTINCT FROM (NEW.stock_quantity > 0))
    EXECUTE FUNCTION products_keep_in_stock();

ALTER TABLE products DROP CONSTRAINT IF EXISTS products_in_stock_check;
ALTER TABLE products ADD CONSTRAINT products_in_stock_check
    CHECK (in_stock IS NOT DISTINCT FROM (stock_quantity > 0)) NOT VALID;

-- place_order of 016, unchanged but for `taken`, which now sets in_stock with the stock. Left
-- to the trigger, every order would still be HOT, but each product selling out would call it.
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
        SET stock_quantity = p.stock_quantity - r.quantity, in_stock = p.stock_quantity - r.quantity > 0,
            version = p.version + 1, updated_at = now()
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
