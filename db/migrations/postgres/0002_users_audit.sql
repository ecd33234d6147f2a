-- Users, teams, sessions, sign-in throttling, the audit trail, and the columns that deal and
-- account visibility filter on. Keep in step with ../sqlite/0002_users_audit.sql.

-- A team is a sales team (account team): its KAMs share its accounts' deals, its directors
-- oversee them. name_fold (Go's lower case, like accounts.name_fold) makes the name unique
-- regardless of case.
CREATE TABLE teams (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    name_fold  text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL
);

-- username_fold is the username in lower case: usernames are unique regardless of case, and a
-- sign-in finds its user regardless of case. teams is a JSON array of team ids.
CREATE TABLE users (
    id            text PRIMARY KEY,
    username      text NOT NULL,
    username_fold text NOT NULL UNIQUE,
    name          text NOT NULL DEFAULT '',
    role          text NOT NULL,
    teams         text NOT NULL DEFAULT '[]',
    disabled      boolean NOT NULL DEFAULT false,
    password_hash text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

-- Only the hash of a session's token is stored.
CREATE TABLE sessions (
    id         text PRIMARY KEY,
    token_hash text NOT NULL UNIQUE,
    csrf_token text NOT NULL,
    user_id    text NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    address    text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user_live ON sessions (user_id) WHERE revoked_at IS NULL;
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Failed sign-ins, counted by username and by address over a recent window to throttle guessing.
CREATE TABLE login_failures (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username_fold text NOT NULL,
    address       text NOT NULL DEFAULT '',
    at            timestamptz NOT NULL
);
CREATE INDEX login_failures_username ON login_failures (username_fold, at);
CREATE INDEX login_failures_address ON login_failures (address, at);
CREATE INDEX login_failures_at ON login_failures (at);

-- The audit trail: appended to, never changed (the triggers below refuse UPDATE, DELETE and
-- TRUNCATE). id is the order of appending; the lists read newest first by id. before and after
-- are JSON (NULL when absent). "key" makes appending idempotent; NULL for an entry without one.
CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL,
    actor       text NOT NULL,
    action      text NOT NULL,
    entity_type text NOT NULL,
    entity_id   text NOT NULL DEFAULT '',
    deal_id     text NOT NULL DEFAULT '',
    summary     text NOT NULL DEFAULT '',
    "before"    text,
    "after"     text,
    "key"       text UNIQUE
);
CREATE INDEX audit_log_deal ON audit_log (deal_id, id);
CREATE INDEX audit_log_entity ON audit_log (entity_type, entity_id, id);
CREATE INDEX audit_log_actor ON audit_log (actor, id);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
END
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- The account team of accounts and deals ('' for none), for the visibility filters: a KAM sees
-- what they own or what their teams have, a director what their teams have.
ALTER TABLE accounts ADD COLUMN team_id text NOT NULL DEFAULT '';
CREATE INDEX accounts_team_name ON accounts (team_id, name_fold, id);
ALTER TABLE deals ADD COLUMN team_id text NOT NULL DEFAULT '';
CREATE INDEX deals_team_updated ON deals (team_id, updated_at DESC, id);
-- A director's stalled review (and stalled list) reads the few stalled deals of their teams.
CREATE INDEX deals_stalled_team ON deals (team_id, stalled_since, id) WHERE stalled;

-- The engineers assigned to a deal (kamflow.Deal.Engineers), kept in step with the deal row by
-- Project, so that an engineer's deals are an index lookup rather than a scan of the JSON.
CREATE TABLE deal_engineers (
    deal_id  text NOT NULL,
    username text NOT NULL,
    PRIMARY KEY (deal_id, username)
);
CREATE INDEX deal_engineers_username ON deal_engineers (username, deal_id);
