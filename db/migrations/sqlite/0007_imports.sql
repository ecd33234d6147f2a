-- Imports of accounts, contacts and open deals from spreadsheets. Keep in step with
-- ../postgres/0007_imports.sql, which explains the tables.

CREATE TABLE imports (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    dry_run     BOOLEAN NOT NULL,
    status      TEXT NOT NULL,
    file_name   TEXT NOT NULL DEFAULT '',
    format      TEXT NOT NULL,
    encoding    TEXT NOT NULL DEFAULT '',
    heads       TEXT NOT NULL DEFAULT '[]',
    team_id     TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    total       INTEGER NOT NULL DEFAULT 0,
    processed   INTEGER NOT NULL DEFAULT 0,
    imported    INTEGER NOT NULL DEFAULT 0,
    skipped     INTEGER NOT NULL DEFAULT 0,
    rejected    INTEGER NOT NULL DEFAULT 0,
    error       TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);
CREATE INDEX imports_created_by ON imports (created_by, created_at DESC, id);
CREATE INDEX imports_team ON imports (team_id, created_at DESC, id);
CREATE INDEX imports_created ON imports (created_at DESC, id);

CREATE TABLE import_rows (
    import_id TEXT NOT NULL REFERENCES imports (id),
    line      INTEGER NOT NULL,
    outcome   TEXT NOT NULL,
    entity_id TEXT NOT NULL DEFAULT '',
    issues    TEXT NOT NULL,
    cells     TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (import_id, line)
);
