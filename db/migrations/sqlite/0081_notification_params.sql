-- A notification's kind parameters, and the unread ones by user. Keep in step with
-- ../postgres/0081_notification_params.sql, which explains them.

ALTER TABLE notifications ADD COLUMN params TEXT NOT NULL DEFAULT '';
CREATE INDEX notifications_unread ON notifications (user_id, id) WHERE read_at IS NULL;
