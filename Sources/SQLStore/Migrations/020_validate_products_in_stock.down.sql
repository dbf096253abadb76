-- Reverses 020_validate_products_in_stock.up.sql: the constraint goes back to NOT VALID, as 018
-- added it (PostgreSQL cannot mark a validated constraint not valid again).
ALTER TABLE products DROP CONSTRAINT IF EXISTS products_in_stock_check;
ALTER TABLE products ADD CONSTRAINT products_in_stock_check
    CHECK (in_stock IS NOT DISTINCT FROM (stock_quantity > 0)) NOT VALID;
