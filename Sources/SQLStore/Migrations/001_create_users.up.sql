-- Creates users, the customers who place orders, as in the reference schema (with TIMESTAMPTZ).
-- email's UNIQUE constraint index serves login lookups, so no separate email index is built.

CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    email VARCHAR(255) NOT NULL UNIQUE,
    name VARCHAR(255) NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    version INT NOT NULL DEFAULT 1
);

-- Offset pages of users ordered by creation time.
CREATE INDEX idx_users_created_at ON users (created_at);
