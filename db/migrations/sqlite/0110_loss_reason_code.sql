-- A lost deal's reason picked from the settings' list of loss reasons (kamflow.LossReason's code,
-- or "other"), beside the words of its reason: the losses report counts by it. Closings recorded
-- before there was a list have none (''). Keep in step with ../postgres/0110_loss_reason_code.sql.
ALTER TABLE stage_transitions ADD COLUMN reason_code TEXT NOT NULL DEFAULT '';
