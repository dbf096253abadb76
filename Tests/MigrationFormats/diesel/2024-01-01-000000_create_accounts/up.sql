-- Your SQL goes here
CREATE TABLE accounts (id BIGINT PRIMARY KEY);
