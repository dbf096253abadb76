-- Reverses 006: removes the organization_members table.
-- No CASCADE: if a later migration's object still depends on it, fail instead of dropping it.

DROP INDEX IF EXISTS idx_organization_members_user;
DROP TABLE IF EXISTS organization_members;
