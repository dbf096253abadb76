-- Verifies 008_add_active_org_tracking: the three layers of verification the review asks for
-- (the column exists, the functions exist as written, the backfill is complete), as checks the
-- runner runs inside 008's transaction and again in `sqlstore migrate verify`. A row with a
-- false column fails the migration (and names the column); psql can run this file too.
--
-- current_setting('sqlstore.phase', true) is 'apply' right after the migration and 'verify' in
-- `sqlstore migrate verify`. The partial index is built by 009 (CONCURRENTLY, so outside this
-- transaction): it may be absent at 'apply' and must exist at 'verify'. The backfill is
-- complete at 'apply'; later, members added since legitimately have no active organization.

-- 1. The column: a nullable BIGINT referencing organizations, ON DELETE SET NULL, documented.
SELECT
    EXISTS (
        SELECT 1 FROM pg_catalog.pg_attribute
        WHERE attrelid = 'users'::regclass AND attname = 'active_org_id' AND NOT attisdropped
          AND atttypid = 'bigint'::regtype AND NOT attnotnull
    ) AS active_org_id_is_nullable_bigint,
    EXISTS (
        SELECT 1 FROM pg_catalog.pg_constraint c
        JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
        WHERE c.conrelid = 'users'::regclass AND c.contype = 'f' AND a.attname = 'active_org_id'
          AND c.confrelid = 'organizations'::regclass AND c.confdeltype = 'n'
    ) AS active_org_id_references_organizations_on_delete_set_null,
    pg_catalog.col_description('users'::regclass,
        (SELECT attnum FROM pg_catalog.pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'active_org_id')
    ) IS NOT NULL AS active_org_id_has_comment;

-- 2. The partial index on it (built by 009): valid, on users (active_org_id), WHERE active_org_id IS NOT NULL.
SELECT
    CASE
        WHEN i.indexrelid IS NULL THEN coalesce(current_setting('sqlstore.phase', true), 'apply') <> 'verify'
        ELSE i.indisvalid
            AND i.indkey::text = (SELECT attnum::text FROM pg_catalog.pg_attribute
                                  WHERE attrelid = 'users'::regclass AND attname = 'active_org_id')
            AND pg_catalog.pg_get_expr(i.indpred, i.indrelid) = '(active_org_id IS NOT NULL)'
    END AS idx_users_active_org_is_the_valid_partial_index
FROM (SELECT 1) AS one
LEFT JOIN pg_catalog.pg_index i ON i.indexrelid = pg_catalog.to_regclass('idx_users_active_org')::oid;

-- 3. Both functions: the setter SECURITY DEFINER, volatile, search_path pinned, not executable by
--    PUBLIC; the getter STABLE with its search_path pinned.
SELECT
    coalesce(bool_and(p.prosecdef AND p.provolatile = 'v'
                      AND p.proconfig @> ARRAY['search_path=public, pg_temp']
                      AND NOT pg_catalog.has_function_privilege('public', p.oid, 'EXECUTE')), false)
        AS set_user_active_org_is_security_definer_with_pinned_search_path
FROM pg_catalog.pg_proc p
WHERE p.oid = pg_catalog.to_regprocedure('set_user_active_org(bigint, bigint)');

SELECT
    coalesce(bool_and(p.provolatile = 's' AND NOT p.prosecdef
                      AND p.proconfig @> ARRAY['search_path=public, pg_temp']), false)
        AS get_user_active_org_is_stable_with_pinned_search_path
FROM pg_catalog.pg_proc p
WHERE p.oid = pg_catalog.to_regprocedure('get_user_active_org(bigint)');

-- 4. The backfill: right after the migration, every user with a membership has an active
--    organization, and it is one they belong to (that part holds at any time).
SELECT
    coalesce(current_setting('sqlstore.phase', true), 'apply') = 'verify'
        OR NOT EXISTS (
            SELECT 1 FROM users u
            WHERE u.active_org_id IS NULL
              AND EXISTS (SELECT 1 FROM organization_members m WHERE m.user_id = u.id)
        ) AS every_member_has_an_active_organization,
    NOT EXISTS (
        SELECT 1 FROM users u
        WHERE u.active_org_id IS NOT NULL
          AND NOT EXISTS (
              SELECT 1 FROM organization_members m
              WHERE m.user_id = u.id AND m.organization_id = u.active_org_id)
    ) AS every_active_organization_is_a_membership;
