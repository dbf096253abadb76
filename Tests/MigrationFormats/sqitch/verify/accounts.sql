-- Verify accounts:accounts on pg

BEGIN;

SELECT id FROM accounts WHERE false;

ROLLBACK;
