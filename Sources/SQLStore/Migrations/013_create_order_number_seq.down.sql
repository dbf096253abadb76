-- Reverses 013_create_order_number_seq.up.sql.
DROP SEQUENCE IF EXISTS order_number_seq;
