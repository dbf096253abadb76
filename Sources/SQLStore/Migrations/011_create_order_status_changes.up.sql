-- Every order status transition with its time (creation included, as NULL -> pending): the
-- order lifecycle's audit trail, written in the same statement as the change it records.
CREATE TABLE order_status_changes (
    id BIGSERIAL PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    from_status VARCHAR(50),
    to_status VARCHAR(50) NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT valid_from_status CHECK (
        from_status IS NULL OR from_status IN ('pending', 'confirmed', 'shipped', 'delivered', 'cancelled')),
    CONSTRAINT valid_to_status CHECK (to_status IN ('pending', 'confirmed', 'shipped', 'delivered', 'cancelled'))
);

-- An order's history in time order, and the ON DELETE CASCADE from orders.
CREATE INDEX idx_order_status_changes_order ON order_status_changes (order_id, changed_at);
