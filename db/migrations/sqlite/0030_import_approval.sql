-- A KAM's import of deals past development waits for a director of the team. Keep in step with
-- ../postgres/0030_import_approval.sql, which explains the columns.

ALTER TABLE imports ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
ALTER TABLE imports ADD COLUMN approval TEXT NOT NULL DEFAULT '';
ALTER TABLE imports ADD COLUMN date1904 BOOLEAN NOT NULL DEFAULT 0;
CREATE INDEX imports_team_status ON imports (team_id, status, created_at DESC);
