-- The language a user reads kamflow in (kamflow.User.Language). Keep in step with
-- ../postgres/0080_user_language.sql, which explains the column.

ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT '';
