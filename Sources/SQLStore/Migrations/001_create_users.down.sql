-- Reverses 001: removes the users table (the last migration to roll back).
-- No CASCADE: if a later migration's object still depends on users, fail instead of dropping it.

DROP INDEX IF EXISTS idx_users_created_at;
DROP TABLE IF EXISTS users;
