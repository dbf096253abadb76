-- Reverses 016_create_place_order_function.up.sql: the store places orders with this function
-- from this migration on, so a server of that build must not run after this.
DROP FUNCTION IF EXISTS place_order(BIGINT[], INT[], TEXT, BIGINT, TEXT);
