-- Reverses 002: removes the products table.
-- No CASCADE: if a later migration's object still depends on products, fail instead of dropping it.

DROP INDEX IF EXISTS idx_products_stock;
DROP INDEX IF EXISTS idx_products_created_at;
DROP TABLE IF EXISTS products;
