-- Step 3 of 5 (see 018): with every row backfilled by 019, the CHECK that in_stock is exactly
-- stock_quantity > 0 is validated. VALIDATE CONSTRAINT scans under SHARE UPDATE EXCLUSIVE, so
-- reads and writes of products go on meanwhile; from here on the in-stock index of 021 cannot
-- disagree with the stock.
ALTER TABLE products VALIDATE CONSTRAINT products_in_stock_check;
