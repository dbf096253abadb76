-- pgbench ceiling for GET /products/{id}: OrderStore.product(id:)'s statement, random id.
-- Variables (-D): products.
\set id random(1, :products)
SELECT id, sku, name, description, price, stock_quantity, created_at, updated_at, version FROM products WHERE id = :id::bigint;
