-- Reverses 008: removes active organization tracking (trigger, functions, users.active_org_id).
-- Dropping the column loses every user's active organization; 009 must be rolled back first.

DROP TRIGGER IF EXISTS organization_members_clear_active_org ON organization_members;
DROP FUNCTION IF EXISTS clear_active_org_on_membership_delete();
DROP FUNCTION IF EXISTS get_user_active_org(BIGINT);
DROP FUNCTION IF EXISTS set_user_active_org(BIGINT, BIGINT);
ALTER TABLE IF EXISTS users DROP COLUMN IF EXISTS active_org_id;
