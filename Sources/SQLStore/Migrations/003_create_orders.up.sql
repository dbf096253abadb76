-- Creates orders, as in the reference schema (with TIMESTAMPTZ): a user's purchase and its status.
-- A user with orders cannot be deleted (RESTRICT); status is limited to the order workflow.

CREATE TABLE orders (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE RESTRICT,
    order_number VARCHAR(50) NOT NULL UNIQUE,
    status VARCHAR(50) NOT NULL DEFAULT 'pending',
    total_amount DECIMAL(10, 2) NOT NULL CHECK (total_amount >= 0),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    version INT NOT NULL DEFAULT 1,
    CONSTRAINT valid_status CHECK (status IN ('pending', 'confirmed', 'shipped', 'delivered', 'cancelled'))
);

-- Orders in a given status (the worker's queue of pending orders).
CREATE INDEX idx_orders_status ON orders (status);

-- Orders ordered by creation time across all users.
CREATE INDEX idx_orders_created_at ON orders (created_at);

-- Cursor pages of a user's orders, newest first; its leading user_id also serves every
-- lookup by user and the RESTRICT check when a user is deleted (so no separate user_id index).
CREATE INDEX idx_orders_user_created ON orders (user_id, created_at DESC, id DESC);
