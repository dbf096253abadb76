-- Verify accounts:email on pg

BEGIN;

SELECT 1/count(*) FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'email';

ROLLBACK;
