-- +goose Up
CREATE TABLE accounts (id BIGINT PRIMARY KEY);

-- +goose StatementBegin
CREATE FUNCTION accounts_count() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    RETURN (SELECT count(*) FROM accounts);
END;
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION IF EXISTS accounts_count();
DROP TABLE IF EXISTS accounts;
