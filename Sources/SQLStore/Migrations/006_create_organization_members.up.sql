-- Creates organization_members: which users belong to which organization, with what role.
-- One row per (organization, user); a membership goes with its organization or its user.

CREATE TABLE organization_members (
    organization_id BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role VARCHAR(20) NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member')),
    joined_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, user_id)
);

-- A user's memberships in joining order (and the cascade when a user is deleted); also lets
-- 008's backfill pick each user's first-joined organization straight from the index.
CREATE INDEX idx_organization_members_user ON organization_members (user_id, joined_at, organization_id);
