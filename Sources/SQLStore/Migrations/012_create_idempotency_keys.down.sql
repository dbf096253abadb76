-- Reverses 012_create_idempotency_keys.up.sql.
DROP TABLE IF EXISTS idempotency_keys;
