-- +goose Up
ALTER TABLE accounts ADD COLUMN email TEXT;

-- +goose Down
ALTER TABLE accounts DROP COLUMN IF EXISTS email;
