-- A KAM's import of deals past development waits for a director of the team. Keep in step with
-- ../sqlite/0030_import_approval.sql.

-- held counts an import's rows that wait for a director (import_rows of outcome 'held', their
-- cells kept for the run after an approval); approval is the director's decision
-- (kamflow.ImportApproval as JSON, '' before one); date1904 says the workbook counts its dates
-- from 1904, which reading the held rows again needs.
ALTER TABLE imports ADD COLUMN held integer NOT NULL DEFAULT 0;
ALTER TABLE imports ADD COLUMN approval text NOT NULL DEFAULT '';
ALTER TABLE imports ADD COLUMN date1904 boolean NOT NULL DEFAULT false;
-- The imports awaiting approval, by team, for the directors' list.
CREATE INDEX imports_team_status ON imports (team_id, status, created_at DESC);
