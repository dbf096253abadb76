-- migrate:up
ALTER TABLE accounts ADD COLUMN email TEXT;

-- migrate:down
ALTER TABLE accounts DROP COLUMN IF EXISTS email;
