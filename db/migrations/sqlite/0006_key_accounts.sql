-- Key-account records: the account's profile and value inputs with the value score computed from
-- them, the lifecycle override, the account's contacts (its buying center across deals, and their
-- links to its deals), the interactions with them, and the key-account settings. Keep in step with
-- ../postgres/0006_key_accounts.sql, which explains the tables.

ALTER TABLE accounts ADD COLUMN profile TEXT NOT NULL DEFAULT '{}';
ALTER TABLE accounts ADD COLUMN gross_profit INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN sales_volume INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN marketing_cost INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN industry_position INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN cooperation_years INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN satisfaction INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN value_score REAL NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN segment TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN lifecycle_override TEXT;
CREATE INDEX accounts_owner_score ON accounts (owner, value_score DESC, id);
CREATE INDEX accounts_team_score ON accounts (team_id, value_score DESC, id);

CREATE TABLE contacts (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts (id),
    name            TEXT NOT NULL,
    name_fold       TEXT NOT NULL,
    title           TEXT NOT NULL DEFAULT '',
    department      TEXT NOT NULL DEFAULT '',
    reports_to      TEXT NOT NULL DEFAULT '',
    role            TEXT NOT NULL DEFAULT '',
    stance          TEXT NOT NULL,
    influence       INTEGER NOT NULL DEFAULT 0,
    relationship    INTEGER NOT NULL DEFAULT 0,
    phone           TEXT NOT NULL DEFAULT '',
    email           TEXT NOT NULL DEFAULT '',
    notes           TEXT NOT NULL DEFAULT '',
    last_contact_at TIMESTAMP,
    created_by      TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX contacts_account ON contacts (account_id, name_fold, id);
CREATE INDEX contacts_role ON contacts (role, id);

CREATE TABLE contact_deals (
    contact_id TEXT NOT NULL REFERENCES contacts (id),
    deal_id    TEXT NOT NULL REFERENCES deals (id),
    stance     TEXT NOT NULL DEFAULT '',
    updated_by TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (contact_id, deal_id)
) WITHOUT ROWID;
CREATE INDEX contact_deals_deal ON contact_deals (deal_id, contact_id);

CREATE TABLE interactions (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts (id),
    deal_id       TEXT NOT NULL DEFAULT '',
    kind          TEXT NOT NULL,
    at            TIMESTAMP NOT NULL,
    summary       TEXT NOT NULL,
    reaction      TEXT NOT NULL,
    reaction_text TEXT NOT NULL DEFAULT '',
    recorded_by   TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL
);
CREATE INDEX interactions_account ON interactions (account_id, at DESC, id);

CREATE TABLE interaction_contacts (
    interaction_id TEXT NOT NULL REFERENCES interactions (id),
    contact_id     TEXT NOT NULL REFERENCES contacts (id),
    PRIMARY KEY (interaction_id, contact_id)
) WITHOUT ROWID;
CREATE INDEX interaction_contacts_contact ON interaction_contacts (contact_id, interaction_id);

CREATE TABLE account_settings (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    data       TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
