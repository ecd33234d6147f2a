-- Imports of accounts, contacts and open deals from spreadsheets. Keep in step with
-- ../sqlite/0007_imports.sql.

-- imports holds each file brought in (or tried in a dry run) and how far its run got: the API
-- answers GET /imports/{id} from here, so that any replica can report on a run another one is
-- committing. heads is the file's columns (kamflow.ImportColumn list as JSON), for the report
-- and the head of the rejected file. updated_at moves with every committed batch: a pending or
-- running import whose updated_at stands still was interrupted (its process stopped).
CREATE TABLE imports (
    id          text PRIMARY KEY,
    kind        text NOT NULL,
    dry_run     boolean NOT NULL,
    status      text NOT NULL,
    file_name   text NOT NULL DEFAULT '',
    format      text NOT NULL,
    encoding    text NOT NULL DEFAULT '',
    heads       text NOT NULL DEFAULT '[]',
    team_id     text NOT NULL,
    created_by  text NOT NULL,
    total       integer NOT NULL DEFAULT 0,
    processed   integer NOT NULL DEFAULT 0,
    imported    integer NOT NULL DEFAULT 0,
    skipped     integer NOT NULL DEFAULT 0,
    rejected    integer NOT NULL DEFAULT 0,
    error       text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    finished_at timestamptz
);
-- The lists, newest first: a user's own, a director's teams', an admin's all.
CREATE INDEX imports_created_by ON imports (created_by, created_at DESC, id);
CREATE INDEX imports_team ON imports (team_id, created_at DESC, id);
CREATE INDEX imports_created ON imports (created_at DESC, id);

-- import_rows are the rows of a file that were not imported: rejected (issues says why; cells is
-- the row as it was in the file, JSON, for the rejected file) or skipped as already present
-- (entity_id is the record it matched). Imported rows leave no row here: they are the records.
CREATE TABLE import_rows (
    import_id text NOT NULL REFERENCES imports (id),
    line      integer NOT NULL,
    outcome   text NOT NULL,
    entity_id text NOT NULL DEFAULT '',
    issues    text NOT NULL,
    cells     text NOT NULL DEFAULT '[]',
    PRIMARY KEY (import_id, line)
);
