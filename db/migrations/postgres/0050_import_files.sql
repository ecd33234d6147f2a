-- An import runs on the worker: its uploaded file is stored until its run is over, and its rows
-- to import wait as pending rows with what they create. Keep in step with
-- ../sqlite/0050_import_files.sql.

-- The file's bytes as uploaded, one row per import, deleted once the import is over.
CREATE TABLE import_files (
    import_id text PRIMARY KEY REFERENCES imports (id),
    data      bytea NOT NULL
);
-- record is a pending row's record to create (JSON, by the importer); '' for the other outcomes.
ALTER TABLE import_rows ADD COLUMN record text NOT NULL DEFAULT '';
-- not_imported counts the rows a cancelled or stopped run did not come to.
ALTER TABLE imports ADD COLUMN not_imported integer NOT NULL DEFAULT 0;
