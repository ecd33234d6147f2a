-- Deals needing attention. Keep in step with ../postgres/0008_deal_attention.sql, which explains
-- the table.

CREATE TABLE deal_attention (
    deal_id    TEXT PRIMARY KEY,
    title      TEXT NOT NULL DEFAULT '',
    owner      TEXT NOT NULL DEFAULT '',
    seq        INTEGER NOT NULL,
    pending    INTEGER NOT NULL DEFAULT 0,
    reason     TEXT NOT NULL DEFAULT '',
    error      TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    since      TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX deal_attention_since ON deal_attention (since, deal_id);
