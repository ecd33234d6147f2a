-- A notification's kind parameters (kamflow.Notification.Params) as a JSON object of strings,
-- rendered in the reader's language with the kind's text; '' for the notifications stored before
-- kinds carried them, which the inbox shows by their English message. notifications_unread finds
-- a user's unread ones (the bell's count, mark all read) without reading those read long ago.
-- Keep in step with ../sqlite/0081_notification_params.sql.

ALTER TABLE notifications ADD COLUMN params text NOT NULL DEFAULT '';
CREATE INDEX notifications_unread ON notifications (user_id, id) WHERE read_at IS NULL;
