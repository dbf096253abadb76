-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY accounts_email ON accounts (email);

-- migrate:down transaction:false
DROP INDEX CONCURRENTLY IF EXISTS accounts_email;
