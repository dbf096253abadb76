-- sqlstore:no-transaction
-- sqlstore:statement-timeout=1h
-- sqlstore:lint-ignore=missing-down
-- Step 2 of 5 (see 018): fills products.in_stock for the rows no write has touched since 018, in
-- batches of 1,000 ids that each commit on their own, so no batch holds many row locks for long
-- or writes one burst of WAL. Rows that writers lock meanwhile are waited for (within
-- lock_timeout), not skipped: a skipped row would stay NULL and fail 020's validation. Safe to
-- run again: it only fills what is still NULL.
--
-- Nothing to reverse: in_stock is derived from stock_quantity, and 018's down drops the column.
-- The down file is empty on purpose.
DO $$
DECLARE
    last_id BIGINT := 0;
    max_id BIGINT;
BEGIN
    SELECT max(id) INTO max_id FROM products;
    WHILE last_id < coalesce(max_id, 0) LOOP
        UPDATE products SET in_stock = stock_quantity > 0
        WHERE id > last_id AND id <= last_id + 1000 AND in_stock IS NULL;
        last_id := last_id + 1000;
        COMMIT;
    END LOOP;
END
$$;
