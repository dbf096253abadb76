-- Idempotency-Key of POST /orders: the key, a SHA-256 of the request it came with, and the order
-- it created. The row is inserted in the same statement as the order, so a key exists exactly
-- when its order does; a concurrent duplicate fails on the primary key and rolls back whole.
CREATE TABLE idempotency_keys (
    key VARCHAR(255) PRIMARY KEY,
    request_hash CHAR(64) NOT NULL,
    order_id BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The ON DELETE CASCADE from orders.
CREATE INDEX idx_idempotency_keys_order ON idempotency_keys (order_id);
