-- Deploy accounts:email to pg
-- requires: accounts

BEGIN;

ALTER TABLE accounts ADD COLUMN email TEXT;

COMMIT;
