-- sqlstore:no-transaction
-- sqlstore:lock-timeout=1m
-- sqlstore:statement-timeout=1h
-- Step 4 of 5 (see 018): the in-stock index over in_stock, which an order changes only when a
-- product sells out, instead of stock_quantity, which every order changes. Built CONCURRENTLY:
-- products is a live table. Dropped first because a failed concurrent build leaves an INVALID
-- index behind. From this build on the store's in-stock page filters on in_stock (this index).
DROP INDEX CONCURRENTLY IF EXISTS idx_products_in_stock;

CREATE INDEX CONCURRENTLY idx_products_in_stock ON products (id) WHERE in_stock;
