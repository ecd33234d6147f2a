-- Key-account records. Keep in step with ../sqlite/0006_key_accounts.sql.

-- The account's profile is kamflow.AccountProfile as JSON (free text only: nothing filters on
-- it). The value inputs are columns: every change of one recomputes the value scores of all
-- accounts (the amounts are scored against the largest of any account), and value_score and
-- segment are stored so that the account list can sort and filter on them. The amounts are in
-- minor units of the reporting currency. lifecycle_override is kamflow.LifecycleOverride as JSON,
-- NULL without one; the lifecycle itself is derived on read, since it moves with time alone.
ALTER TABLE accounts ADD COLUMN profile text NOT NULL DEFAULT '{}';
ALTER TABLE accounts ADD COLUMN gross_profit bigint NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN sales_volume bigint NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN marketing_cost bigint NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN industry_position integer NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN cooperation_years integer NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN satisfaction integer NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN value_score double precision NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN segment text NOT NULL DEFAULT ''; -- '' while no value input is set
ALTER TABLE accounts ADD COLUMN lifecycle_override text;
-- The list by value score, for a KAM (owner or team) and a director (team).
CREATE INDEX accounts_owner_score ON accounts (owner, value_score DESC, id);
CREATE INDEX accounts_team_score ON accounts (team_id, value_score DESC, id);

-- contacts are the people at the customer: the account's org chart (reports_to is another
-- contact's id of the same account, '' for none; the store refuses a cycle) and its buying center
-- across deals. role is a kamflow.Role or '' while not mapped. last_contact_at is the newest
-- interaction with the person, NULL while none; a contact is stale when it (or, without one,
-- created_at) is older than the settings' stale_contact_days.
CREATE TABLE contacts (
    id              text PRIMARY KEY,
    account_id      text NOT NULL REFERENCES accounts (id),
    name            text NOT NULL,
    name_fold       text NOT NULL, -- the name in lower case, for the order of the list
    title           text NOT NULL DEFAULT '',
    department      text NOT NULL DEFAULT '',
    reports_to      text NOT NULL DEFAULT '',
    role            text NOT NULL DEFAULT '',
    stance          text NOT NULL,
    influence       integer NOT NULL DEFAULT 0, -- 1–5, 0 unknown
    relationship    integer NOT NULL DEFAULT 0, -- 1–5, 0 unknown
    phone           text NOT NULL DEFAULT '',
    email           text NOT NULL DEFAULT '',
    notes           text NOT NULL DEFAULT '',
    last_contact_at timestamptz,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX contacts_account ON contacts (account_id, name_fold, id);
-- The stale-contacts query reads the insiders and decision makers of every account.
CREATE INDEX contacts_role ON contacts (role, id);

-- contact_deals links a contact to the deals of its account it is part of, with the person's
-- stance on that deal ('' for their usual one). A link is made by hand or by an interaction
-- about the deal, and never removed: it is history.
CREATE TABLE contact_deals (
    contact_id text NOT NULL REFERENCES contacts (id),
    deal_id    text NOT NULL REFERENCES deals (id),
    stance     text NOT NULL DEFAULT '',
    updated_by text NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (contact_id, deal_id)
);
CREATE INDEX contact_deals_deal ON contact_deals (deal_id, contact_id);

-- interactions are the contacts with the customer (visits, calls, meetings, demos, factory and
-- reference-site visits) with the customer's reaction; deal_id is '' for one about no deal. at is
-- when it happened, created_at when it was logged.
CREATE TABLE interactions (
    id            text PRIMARY KEY,
    account_id    text NOT NULL REFERENCES accounts (id),
    deal_id       text NOT NULL DEFAULT '',
    kind          text NOT NULL,
    at            timestamptz NOT NULL,
    summary       text NOT NULL,
    reaction      text NOT NULL,
    reaction_text text NOT NULL DEFAULT '',
    recorded_by   text NOT NULL,
    created_at    timestamptz NOT NULL
);
-- The account's timeline, newest first.
CREATE INDEX interactions_account ON interactions (account_id, at DESC, id);

CREATE TABLE interaction_contacts (
    interaction_id text NOT NULL REFERENCES interactions (id),
    contact_id     text NOT NULL REFERENCES contacts (id),
    PRIMARY KEY (interaction_id, contact_id)
);
CREATE INDEX interaction_contacts_contact ON interaction_contacts (contact_id, interaction_id);

-- account_settings is kamflow.AccountSettings as JSON: the value score's weights and threshold,
-- the lifecycle's windows and the stale-contact days. No row: the defaults.
CREATE TABLE account_settings (
    id         integer PRIMARY KEY CHECK (id = 1),
    data       text NOT NULL,
    updated_at timestamptz NOT NULL
);
