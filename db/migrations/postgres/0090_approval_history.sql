-- The approval history (GET /reports/approvals/history) is the audit trail's entries of the
-- approval requests and answers (actions deal.request_approval and deal.answer_approval), newest
-- first: this index finds them without reading the whole trail. Keep in step with
-- ../sqlite/0090_approval_history.sql.

CREATE INDEX audit_log_action ON audit_log (action, id);
