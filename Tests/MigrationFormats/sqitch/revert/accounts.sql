-- Revert accounts:accounts from pg

BEGIN;

DROP TABLE accounts;

COMMIT;
