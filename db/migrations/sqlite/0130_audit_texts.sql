-- What an entry says, for the reader's language: its text's code (kamflow.TimelineTexts) and the
-- params as a JSON object ('' for none). Entries appended before there were codes have none
-- (the summary is all they say). Keep in step with ../postgres/0130_audit_texts.sql.
ALTER TABLE audit_log ADD COLUMN code TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN params TEXT NOT NULL DEFAULT '';
