-- Versions of the records people edit. Keep in step with ../postgres/0010_record_versions.sql,
-- which explains the columns.

ALTER TABLE accounts ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE accounts ADD COLUMN updated_by TEXT NOT NULL DEFAULT '';
ALTER TABLE settings ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE settings ADD COLUMN updated_by TEXT NOT NULL DEFAULT '';
ALTER TABLE account_settings ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE account_settings ADD COLUMN updated_by TEXT NOT NULL DEFAULT '';
