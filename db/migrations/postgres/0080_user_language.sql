-- The language a user reads kamflow in (kamflow.User.Language): en or zh-CN, or '' until the
-- user or an admin chose one (the UI then keeps the browser's language and sets it on sign-in;
-- an e-mail to such a user is written in both languages). Keep in step with
-- ../sqlite/0080_user_language.sql.

ALTER TABLE users ADD COLUMN language text NOT NULL DEFAULT '';
