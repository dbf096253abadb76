-- Creates order_items, as in the reference schema (with TIMESTAMPTZ): an order's lines, priced
-- when ordered. Items go with their order (CASCADE); a product on any order cannot be deleted.

CREATE TABLE order_items (
    id BIGSERIAL PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    product_id BIGINT NOT NULL REFERENCES products(id) ON DELETE RESTRICT,
    quantity INT NOT NULL CHECK (quantity > 0),
    unit_price DECIMAL(10, 2) NOT NULL CHECK (unit_price >= 0),
    subtotal DECIMAL(10, 2) NOT NULL CHECK (subtotal >= 0),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (order_id, product_id)
);

-- Orders containing a product, and the RESTRICT check when a product is deleted. An order's
-- items are served by the UNIQUE (order_id, product_id) index, so no separate order_id index.
CREATE INDEX idx_order_items_product_id ON order_items (product_id);
