-- Records on each order the organization its user was acting for when ordering (NULL: none).
-- An organization that has orders cannot be deleted: order history must keep its attribution.

ALTER TABLE orders
    ADD COLUMN IF NOT EXISTS organization_id BIGINT NULL REFERENCES organizations(id) ON DELETE RESTRICT;
