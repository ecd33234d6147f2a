-- Files: the documents kept on a deal, an account, a delivery task or a service visit
-- (kamflow.File, db/files.go). Keep in step with ../sqlite/0150_files.sql.

-- files are the documents' metadata; their bytes are in the blob store under blob_key (a key
-- kamflow makes, never the client's name). record and record_id name what a file is on: a deal
-- (its id), an account (its id), a delivery task (its key, on deal_id's plan) or a service visit
-- (its id). deal_id is the deal the file belongs to ('' for an account's), for the deal's
-- documents by kind (the bid step's, the acceptance certificate's). A deletion marks the row
-- (deleted_at, deleted_by) rather than removing it, so that the audit trail's entries keep what
-- they name; deleted rows are never listed.
CREATE TABLE files (
    id           text PRIMARY KEY,
    record       text NOT NULL,
    record_id    text NOT NULL,
    deal_id      text NOT NULL DEFAULT '',
    account_id   text NOT NULL DEFAULT '',
    kind         text NOT NULL,
    name         text NOT NULL,
    content_type text NOT NULL,
    size         bigint NOT NULL,
    sha256       text NOT NULL,
    blob_key     text NOT NULL UNIQUE,
    uploaded_by  text NOT NULL,
    uploaded_at  timestamptz NOT NULL,
    deleted_at   timestamptz,
    deleted_by   text NOT NULL DEFAULT ''
);
-- A record's files, newest first.
CREATE INDEX files_record ON files (record, record_id, uploaded_at) WHERE deleted_at IS NULL;
-- A deal's files by kind, whatever they are on.
CREATE INDEX files_deal_kind ON files (deal_id, kind, uploaded_at) WHERE deleted_at IS NULL;
