-- Versions of contacts and users. Keep in step with ../postgres/0040_contact_user_versions.sql,
-- which explains the columns.

ALTER TABLE contacts ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE contacts ADD COLUMN updated_by TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN updated_by TEXT NOT NULL DEFAULT '';
