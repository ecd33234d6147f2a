-- Files: the documents kept on a deal, an account, a delivery task or a service visit.
-- Keep in step with ../postgres/0150_files.sql, which explains the table.
CREATE TABLE files (
    id           TEXT PRIMARY KEY,
    record       TEXT NOT NULL,
    record_id    TEXT NOT NULL,
    deal_id      TEXT NOT NULL DEFAULT '',
    account_id   TEXT NOT NULL DEFAULT '',
    kind         TEXT NOT NULL,
    name         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    blob_key     TEXT NOT NULL UNIQUE,
    uploaded_by  TEXT NOT NULL,
    uploaded_at  TIMESTAMP NOT NULL,
    deleted_at   TIMESTAMP,
    deleted_by   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX files_record ON files (record, record_id, uploaded_at) WHERE deleted_at IS NULL;
CREATE INDEX files_deal_kind ON files (deal_id, kind, uploaded_at) WHERE deleted_at IS NULL;
