-- One buying center per account: each stakeholder of a deal is one of the account's contacts.
-- Keep in step with ../postgres/0120_deal_stakeholders.sql, which explains the table; its rows
-- for the deals already stored are written by this migration's Go step (db/migrate.go, goSteps).
CREATE TABLE deal_stakeholders (
    deal_id    TEXT NOT NULL,
    contact_id TEXT NOT NULL REFERENCES contacts (id),
    name_fold  TEXT NOT NULL,
    role       TEXT NOT NULL,
    stance     TEXT NOT NULL,
    engaged    BOOLEAN NOT NULL DEFAULT 0,
    PRIMARY KEY (deal_id, contact_id)
) WITHOUT ROWID;
CREATE INDEX deal_stakeholders_contact ON deal_stakeholders (contact_id, deal_id);
