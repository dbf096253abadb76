-- Order numbers (SO-00000042): readable, collision-free by construction (a sequence, not a
-- clock reading), and independent of the surrogate key.
CREATE SEQUENCE IF NOT EXISTS order_number_seq AS BIGINT;
