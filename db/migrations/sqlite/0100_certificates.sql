-- The acceptance certificates' numbers. Keep in step with ../postgres/0100_certificates.sql,
-- which explains the tables.

CREATE TABLE certificate_years (
    year     INTEGER PRIMARY KEY,
    last_seq INTEGER NOT NULL
);

CREATE TABLE certificates (
    deal_id    TEXT PRIMARY KEY,
    year       INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    number     TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (year, seq)
);
