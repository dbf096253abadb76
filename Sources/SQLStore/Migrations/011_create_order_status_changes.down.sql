-- Reverses 011_create_order_status_changes.up.sql.
DROP TABLE IF EXISTS order_status_changes;
