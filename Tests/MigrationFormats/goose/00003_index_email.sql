-- +goose NO TRANSACTION
-- +goose Up
CREATE INDEX CONCURRENTLY accounts_email ON accounts (email);

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS accounts_email;
