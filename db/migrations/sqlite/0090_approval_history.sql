-- The approval history's index on the audit trail. Keep in step with
-- ../postgres/0090_approval_history.sql, which explains it.

CREATE INDEX audit_log_action ON audit_log (action, id);
