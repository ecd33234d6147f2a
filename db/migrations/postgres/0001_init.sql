-- The initial schema. Keep in step with ../sqlite/0001_init.sql.

CREATE TABLE accounts (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    -- name_fold is the name in lower case (Go's Unicode folding), for the case-insensitive search;
    -- SQLite's lower() folds ASCII only, so both dialects store it from Go.
    name_fold  text NOT NULL,
    industry   text NOT NULL DEFAULT '',
    region     text NOT NULL DEFAULT '',
    address    text NOT NULL DEFAULT '',
    owner      text NOT NULL,
    notes      text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX accounts_owner_name ON accounts (owner, name_fold, id);
CREATE INDEX accounts_name ON accounts (name_fold, id);

-- deals is the projection of the deals' workflows. data is the whole kamflow.Deal as JSON and is
-- what reads return; the other columns exist to filter, sort and report. There is no foreign key
-- to accounts: a projection write must never fail for good, or the workflow would retry forever.
CREATE TABLE deals (
    id               text PRIMARY KEY,
    account_id       text NOT NULL,
    title            text NOT NULL,
    value            bigint NOT NULL, -- minor units of currency
    currency         text NOT NULL,
    owner            text NOT NULL,
    stage            text NOT NULL,
    status           text NOT NULL,
    grade            text NOT NULL DEFAULT '', -- '' before the assessment
    stalled          boolean NOT NULL DEFAULT false,
    forced           boolean NOT NULL DEFAULT false,
    win_probability  integer NOT NULL,
    expected_close   text NOT NULL DEFAULT '', -- YYYY-MM-DD or ''
    stage_entered_at timestamptz NOT NULL,
    last_progress_at timestamptz NOT NULL,
    stalled_since    timestamptz,
    seq              bigint NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    data             text NOT NULL
);
-- The deal list is ordered by updated_at DESC, id; one index per filter lets each filtered list
-- read its page in order without sorting the whole table.
CREATE INDEX deals_updated ON deals (updated_at DESC, id);
CREATE INDEX deals_owner_updated ON deals (owner, updated_at DESC, id);
CREATE INDEX deals_account_updated ON deals (account_id, updated_at DESC, id);
CREATE INDEX deals_stage_updated ON deals (stage, updated_at DESC, id);
CREATE INDEX deals_status_updated ON deals (status, updated_at DESC, id);
CREATE INDEX deals_grade_updated ON deals (grade, updated_at DESC, id);
-- Few deals are stalled: partial indexes serve the stalled list and the directors' review.
CREATE INDEX deals_stalled_updated ON deals (updated_at DESC, id) WHERE stalled;
CREATE INDEX deals_stalled_since ON deals (stalled_since, id) WHERE stalled;

CREATE TABLE stage_transitions (
    deal_id    text NOT NULL,
    seq        bigint NOT NULL, -- the deal's seq after the change; one transition per change at most
    kind       text NOT NULL,
    from_stage text NOT NULL DEFAULT '',
    to_stage   text NOT NULL,
    status     text NOT NULL,
    forced     boolean NOT NULL DEFAULT false,
    reason     text NOT NULL DEFAULT '',
    competitor text NOT NULL DEFAULT '',
    missing    text NOT NULL DEFAULT '[]', -- JSON array of the gate keys a forced advance skipped
    actor      text NOT NULL,
    at         timestamptz NOT NULL,
    PRIMARY KEY (deal_id, seq)
);
CREATE INDEX stage_transitions_at ON stage_transitions (at);

CREATE TABLE notifications (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    text NOT NULL,
    deal_id    text NOT NULL DEFAULT '',
    kind       text NOT NULL,
    "key"      text UNIQUE, -- NULL for a notification without a deduplication key
    message    text NOT NULL,
    created_at timestamptz NOT NULL,
    read_at    timestamptz
);
CREATE INDEX notifications_user ON notifications (user_id, created_at DESC, id DESC);

CREATE TABLE settings (
    id         integer PRIMARY KEY CHECK (id = 1),
    data       text NOT NULL, -- kamflow.Settings as JSON
    updated_at timestamptz NOT NULL
);

CREATE TABLE idempotency_keys (
    "key"       text PRIMARY KEY,
    fingerprint text NOT NULL,
    status      integer NOT NULL,
    body        bytea NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
