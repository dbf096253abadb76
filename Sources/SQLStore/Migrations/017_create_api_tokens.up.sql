-- API tokens (issue 15): the bearer tokens the HTTP API authenticates. Only the SHA-256 of a
-- token is stored, never the token itself. An admin token has no user; a customer token is bound
-- to one user and goes with it.
CREATE TABLE api_tokens (
    id BIGSERIAL PRIMARY KEY,
    token_hash BYTEA NOT NULL UNIQUE,
    name VARCHAR(100) NOT NULL,
    role VARCHAR(20) NOT NULL CHECK (role IN ('admin', 'customer')),
    user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ,
    CONSTRAINT api_tokens_role_user_check CHECK ((role = 'customer') = (user_id IS NOT NULL))
);

-- The ON DELETE CASCADE from users, and a user's tokens.
CREATE INDEX idx_api_tokens_user ON api_tokens (user_id) WHERE user_id IS NOT NULL;
