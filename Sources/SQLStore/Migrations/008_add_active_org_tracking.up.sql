-- Active organization tracking (the reviewed migration 008, with BIGINT keys): each user may
-- have one active organization, which must be one they belong to; new orders record it.
-- Safe to run again: every statement is CREATE OR REPLACE, IF NOT EXISTS or idempotent.
-- Its partial index is built CONCURRENTLY by 009, outside this transaction.

ALTER TABLE users
    ADD COLUMN IF NOT EXISTS active_org_id BIGINT REFERENCES organizations(id) ON DELETE SET NULL;

COMMENT ON COLUMN users.active_org_id IS
    'The organization the user currently acts for (their orders are attributed to it); NULL when none. '
    'Always one the user is a member of: set only through set_user_active_org(), cleared when the '
    'membership is removed (trigger) or the organization deleted (ON DELETE SET NULL).';

-- SECURITY DEFINER so the application can switch organizations without UPDATE rights on
-- users.active_org_id; its search_path is pinned (pg_temp last) so no caller-controlled
-- schema can shadow the tables it reads and writes.
CREATE OR REPLACE FUNCTION set_user_active_org(p_user_id BIGINT, p_org_id BIGINT)
RETURNS BOOLEAN
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
BEGIN
    IF p_user_id IS NULL OR p_org_id IS NULL THEN
        RAISE EXCEPTION 'user and organization must both be given'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;

    -- FOR KEY SHARE keeps the membership row from being deleted until this transaction ends,
    -- so a concurrent removal cannot slip between this check and the update below.
    PERFORM 1
    FROM organization_members
    WHERE organization_id = p_org_id
      AND user_id = p_user_id
    FOR KEY SHARE;

    IF NOT FOUND THEN
        RAISE EXCEPTION 'user % is not a member of organization %', p_user_id, p_org_id
            USING ERRCODE = 'SQ403',
                  HINT = 'Add the user to the organization before making it their active organization.';
    END IF;

    UPDATE users
    SET active_org_id = p_org_id,
        updated_at = now()
    WHERE id = p_user_id;

    RETURN FOUND;
END;
$$;

COMMENT ON FUNCTION set_user_active_org(BIGINT, BIGINT) IS
    'Makes p_org_id the active organization of p_user_id and returns true; raises SQLSTATE SQ403 '
    'unless the user is a member of it.';

-- Only roles granted EXECUTE explicitly may call a function that runs with its owner's rights.
REVOKE ALL ON FUNCTION set_user_active_org(BIGINT, BIGINT) FROM PUBLIC;

CREATE OR REPLACE FUNCTION get_user_active_org(p_user_id BIGINT)
RETURNS TABLE (
    organization_id BIGINT,
    organization_slug TEXT,
    organization_name TEXT,
    user_role TEXT
)
LANGUAGE sql
STABLE
SET search_path = public, pg_temp
AS $$
    SELECT o.id, o.slug::text, o.name::text, m.role::text
    FROM users u
    JOIN organizations o ON o.id = u.active_org_id
    JOIN organization_members m ON m.organization_id = o.id AND m.user_id = u.id
    WHERE u.id = p_user_id
$$;

COMMENT ON FUNCTION get_user_active_org(BIGINT) IS
    'The active organization of p_user_id (id, slug, name) and the user''s role in it; no row when none.';

-- Keeps "an active organization is one the user belongs to" true whatever deletes a membership
-- (the API, a cascade from the user or organization, or a manual DELETE).
CREATE OR REPLACE FUNCTION clear_active_org_on_membership_delete()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
BEGIN
    UPDATE users
    SET active_org_id = NULL,
        updated_at = now()
    WHERE id = OLD.user_id
      AND active_org_id = OLD.organization_id;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION clear_active_org_on_membership_delete() IS
    'Trigger function: clears users.active_org_id when the membership it relied on is deleted.';

DROP TRIGGER IF EXISTS organization_members_clear_active_org ON organization_members;

CREATE TRIGGER organization_members_clear_active_org
    AFTER DELETE ON organization_members
    FOR EACH ROW
    EXECUTE FUNCTION clear_active_org_on_membership_delete();

-- Backfill: every user without an active organization gets their first-joined one (ties broken
-- by organization id). One DISTINCT ON pass over idx_organization_members_user instead of a
-- correlated subquery per user; users already set are left alone, so a rerun changes nothing.
UPDATE users u
SET active_org_id = first_membership.organization_id
FROM (
    SELECT DISTINCT ON (m.user_id) m.user_id, m.organization_id
    FROM organization_members m
    ORDER BY m.user_id, m.joined_at, m.organization_id
) AS first_membership
WHERE u.id = first_membership.user_id
  AND u.active_org_id IS NULL;
