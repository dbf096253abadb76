-- sqlstore:no-transaction
-- sqlstore:lock-timeout=1m
-- Step 5 of 5 (see 018): drops the spec's in-stock index `(id) WHERE stock_quantity > 0`. While
-- it exists no stock update is HOT, whatever 021 built. Servers of the build before 021 still
-- filter on stock_quantity; without this index their in-stock pages scan products, which is
-- correct but slower. On a large catalogue, hold this step back (`migrate up --to 21`) until no
-- such server runs. Dropped CONCURRENTLY: products is a live table.
DROP INDEX CONCURRENTLY IF EXISTS idx_products_stock;
