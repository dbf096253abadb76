-- Creates products, the catalogue with its stock, as in the reference schema (with TIMESTAMPTZ).
-- sku's UNIQUE constraint index serves SKU lookups, so no separate sku index is built.

CREATE TABLE products (
    id BIGSERIAL PRIMARY KEY,
    sku VARCHAR(100) NOT NULL UNIQUE,
    name VARCHAR(255) NOT NULL,
    description TEXT,
    price DECIMAL(10, 2) NOT NULL CHECK (price >= 0),
    stock_quantity INT NOT NULL DEFAULT 0 CHECK (stock_quantity >= 0),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    version INT NOT NULL DEFAULT 1
);

-- Offset pages of products ordered by creation time.
CREATE INDEX idx_products_created_at ON products (created_at);

-- The in-stock page (ORDER BY id, OFFSET) and its count: only products with stock are indexed.
CREATE INDEX idx_products_stock ON products (id) WHERE stock_quantity > 0;
