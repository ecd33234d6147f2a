-- What an entry says, for the reader's language: its text's code (kamflow.TimelineTexts) and the
-- params as a JSON object ('' for none). Entries appended before there were codes have none
-- (the summary is all they say). Adding a column with a constant default writes no row, so the
-- append-only triggers are not involved. Keep in step with ../sqlite/0130_audit_texts.sql.
ALTER TABLE audit_log ADD COLUMN code text NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN params text NOT NULL DEFAULT '';
