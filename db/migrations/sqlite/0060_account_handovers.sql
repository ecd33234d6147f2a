-- The handovers of accounts and the deals each reassigns. Keep in step with
-- ../postgres/0060_account_handovers.sql, which explains the columns.

CREATE TABLE account_handovers (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    from_owner  TEXT NOT NULL,
    to_owner    TEXT NOT NULL,
    reason      TEXT NOT NULL,
    by_user     TEXT NOT NULL,
    at          TIMESTAMP NOT NULL,
    status      TEXT NOT NULL,
    message     TEXT NOT NULL DEFAULT '',
    total       INTEGER NOT NULL DEFAULT 0,
    done        INTEGER NOT NULL DEFAULT 0,
    refused     INTEGER NOT NULL DEFAULT 0,
    updated_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);
CREATE INDEX account_handovers_account ON account_handovers (account_id, at);

CREATE TABLE account_handover_deals (
    handover_id TEXT NOT NULL REFERENCES account_handovers(id),
    deal_id     TEXT NOT NULL,
    position    INTEGER NOT NULL,
    status      TEXT NOT NULL,
    code        TEXT NOT NULL DEFAULT '',
    message     TEXT NOT NULL DEFAULT '',
    updated_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (handover_id, deal_id)
);
