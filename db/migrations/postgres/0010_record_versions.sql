-- Versions of the records people edit. Keep in step with ../sqlite/0010_record_versions.sql.

-- version is 1 when a record is created (or was before this migration) and one more with every
-- change a person makes; updated_by is who made the last one (a username, '' before this
-- migration). An edit names the version it was made against and is refused when the record has
-- moved on, so that nobody overwrites a change they have not seen.
ALTER TABLE accounts ADD COLUMN version bigint NOT NULL DEFAULT 1;
ALTER TABLE accounts ADD COLUMN updated_by text NOT NULL DEFAULT '';

-- The settings and the escalation ladder (escalation_settings) are edited as one record, whose
-- version is the settings row's; the key-account settings are a record of their own. While a row
-- is missing its record is the defaults, at version 1.
ALTER TABLE settings ADD COLUMN version bigint NOT NULL DEFAULT 1;
ALTER TABLE settings ADD COLUMN updated_by text NOT NULL DEFAULT '';
ALTER TABLE account_settings ADD COLUMN version bigint NOT NULL DEFAULT 1;
ALTER TABLE account_settings ADD COLUMN updated_by text NOT NULL DEFAULT '';
