-- Versions of contacts and users, as 0010_record_versions.sql gave accounts and the settings.
-- Keep in step with ../sqlite/0040_contact_user_versions.sql.

-- version is 1 when the record is created (or was before this migration) and one more with every
-- change a person makes; updated_by is who made the last one (a username, '' before this
-- migration). An edit names the version it was made against and is refused when the record has
-- moved on.
ALTER TABLE contacts ADD COLUMN version bigint NOT NULL DEFAULT 1;
ALTER TABLE contacts ADD COLUMN updated_by text NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN version bigint NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN updated_by text NOT NULL DEFAULT '';
