-- Deploy accounts:accounts to pg

BEGIN;

CREATE TABLE accounts (id BIGINT PRIMARY KEY);

COMMIT;
