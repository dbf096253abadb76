-- Revert accounts:email from pg

BEGIN;

ALTER TABLE accounts DROP COLUMN email;

COMMIT;
