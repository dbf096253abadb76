-- Reverses 005: removes the organizations table.
-- No CASCADE: while orders or users still reference organizations (007, 008 not rolled back),
-- this fails instead of silently dropping their foreign keys.

DROP TABLE IF EXISTS organizations;
