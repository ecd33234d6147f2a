-- The initial schema. Keep in step with ../postgres/0001_init.sql, which explains the columns.
-- Times are TIMESTAMP columns: the driver writes them as UTC text in SQLite's format (sortable)
-- and reads them back as time.Time. Booleans are stored as 0 and 1.

CREATE TABLE accounts (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    name_fold  TEXT NOT NULL,
    industry   TEXT NOT NULL DEFAULT '',
    region     TEXT NOT NULL DEFAULT '',
    address    TEXT NOT NULL DEFAULT '',
    owner      TEXT NOT NULL,
    notes      TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX accounts_owner_name ON accounts (owner, name_fold, id);
CREATE INDEX accounts_name ON accounts (name_fold, id);

CREATE TABLE deals (
    id               TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL,
    title            TEXT NOT NULL,
    value            INTEGER NOT NULL,
    currency         TEXT NOT NULL,
    owner            TEXT NOT NULL,
    stage            TEXT NOT NULL,
    status           TEXT NOT NULL,
    grade            TEXT NOT NULL DEFAULT '',
    stalled          BOOLEAN NOT NULL DEFAULT 0,
    forced           BOOLEAN NOT NULL DEFAULT 0,
    win_probability  INTEGER NOT NULL,
    expected_close   TEXT NOT NULL DEFAULT '',
    stage_entered_at TIMESTAMP NOT NULL,
    last_progress_at TIMESTAMP NOT NULL,
    stalled_since    TIMESTAMP,
    seq              INTEGER NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    data             TEXT NOT NULL
);
CREATE INDEX deals_updated ON deals (updated_at DESC, id);
CREATE INDEX deals_owner_updated ON deals (owner, updated_at DESC, id);
CREATE INDEX deals_account_updated ON deals (account_id, updated_at DESC, id);
CREATE INDEX deals_stage_updated ON deals (stage, updated_at DESC, id);
CREATE INDEX deals_status_updated ON deals (status, updated_at DESC, id);
CREATE INDEX deals_grade_updated ON deals (grade, updated_at DESC, id);
CREATE INDEX deals_stalled_updated ON deals (updated_at DESC, id) WHERE stalled;
CREATE INDEX deals_stalled_since ON deals (stalled_since, id) WHERE stalled;

CREATE TABLE stage_transitions (
    deal_id    TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    from_stage TEXT NOT NULL DEFAULT '',
    to_stage   TEXT NOT NULL,
    status     TEXT NOT NULL,
    forced     BOOLEAN NOT NULL DEFAULT 0,
    reason     TEXT NOT NULL DEFAULT '',
    competitor TEXT NOT NULL DEFAULT '',
    missing    TEXT NOT NULL DEFAULT '[]',
    actor      TEXT NOT NULL,
    at         TIMESTAMP NOT NULL,
    PRIMARY KEY (deal_id, seq)
) WITHOUT ROWID;
CREATE INDEX stage_transitions_at ON stage_transitions (at);

CREATE TABLE notifications (
    -- AUTOINCREMENT: an id is never reused, even after the newest rows are deleted.
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    TEXT NOT NULL,
    deal_id    TEXT NOT NULL DEFAULT '',
    kind       TEXT NOT NULL,
    "key"      TEXT UNIQUE,
    message    TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    read_at    TIMESTAMP
);
CREATE INDEX notifications_user ON notifications (user_id, created_at DESC, id DESC);

CREATE TABLE settings (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    data       TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE idempotency_keys (
    "key"       TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    status      INTEGER NOT NULL,
    body        BLOB NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
