-- Reverses 007: removes orders.organization_id (its foreign key goes with it).

ALTER TABLE IF EXISTS orders DROP COLUMN IF EXISTS organization_id;
