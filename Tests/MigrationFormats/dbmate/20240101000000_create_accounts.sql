-- migrate:up
CREATE TABLE accounts (id BIGINT PRIMARY KEY);

-- migrate:down
DROP TABLE IF EXISTS accounts;
