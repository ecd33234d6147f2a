-- An import runs on the worker: its uploaded file is stored until its run is over. Keep in step
-- with ../postgres/0050_import_files.sql, which explains the columns.

CREATE TABLE import_files (
    import_id TEXT PRIMARY KEY REFERENCES imports (id),
    data      BLOB NOT NULL
);
ALTER TABLE import_rows ADD COLUMN record TEXT NOT NULL DEFAULT '';
ALTER TABLE imports ADD COLUMN not_imported INTEGER NOT NULL DEFAULT 0;
