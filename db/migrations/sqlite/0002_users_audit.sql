-- Users, teams, sessions, sign-in throttling, the audit trail, and the columns that deal and
-- account visibility filter on. Keep in step with ../postgres/0002_users_audit.sql, which explains
-- the columns.

CREATE TABLE teams (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    name_fold  TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL,
    username_fold TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL,
    teams         TEXT NOT NULL DEFAULT '[]',
    disabled      BOOLEAN NOT NULL DEFAULT 0,
    password_hash TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    csrf_token TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    address    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user_live ON sessions (user_id) WHERE revoked_at IS NULL;
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE login_failures (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username_fold TEXT NOT NULL,
    address       TEXT NOT NULL DEFAULT '',
    at            TIMESTAMP NOT NULL
);
CREATE INDEX login_failures_username ON login_failures (username_fold, at);
CREATE INDEX login_failures_address ON login_failures (address, at);
CREATE INDEX login_failures_at ON login_failures (at);

-- AUTOINCREMENT: an id is never reused, so id order is the order of appending.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TIMESTAMP NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id   TEXT NOT NULL DEFAULT '',
    deal_id     TEXT NOT NULL DEFAULT '',
    summary     TEXT NOT NULL DEFAULT '',
    "before"    TEXT,
    "after"     TEXT,
    "key"       TEXT UNIQUE
);
CREATE INDEX audit_log_deal ON audit_log (deal_id, id);
CREATE INDEX audit_log_entity ON audit_log (entity_type, entity_id, id);
CREATE INDEX audit_log_actor ON audit_log (actor, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused');
END;

ALTER TABLE accounts ADD COLUMN team_id TEXT NOT NULL DEFAULT '';
CREATE INDEX accounts_team_name ON accounts (team_id, name_fold, id);
ALTER TABLE deals ADD COLUMN team_id TEXT NOT NULL DEFAULT '';
CREATE INDEX deals_team_updated ON deals (team_id, updated_at DESC, id);
CREATE INDEX deals_stalled_team ON deals (team_id, stalled_since, id) WHERE stalled;

CREATE TABLE deal_engineers (
    deal_id  TEXT NOT NULL,
    username TEXT NOT NULL,
    PRIMARY KEY (deal_id, username)
) WITHOUT ROWID;
CREATE INDEX deal_engineers_username ON deal_engineers (username, deal_id);
