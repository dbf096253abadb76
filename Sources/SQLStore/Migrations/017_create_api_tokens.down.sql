-- Reverses 017_create_api_tokens.up.sql: every token is lost, so every client must be given a
-- new one after migrating up again.
DROP TABLE IF EXISTS api_tokens;
