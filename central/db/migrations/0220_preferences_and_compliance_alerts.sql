-- Notifications a user gets from their profile (notify_email / notify_sms) without defining a
-- channel: channel_id stays NULL and preference says which address of the user it goes to
-- (looked up when it is sent). One per alert transition, user and preference, like channels.
ALTER TABLE notifications ADD COLUMN preference TEXT CHECK (preference IN ('email', 'sms'));
CREATE UNIQUE INDEX notifications_once_preference ON notifications (alert_id, alert_event, user_id, preference)
    WHERE alert_id IS NOT NULL AND preference IS NOT NULL;

-- A compliance rule raises one live alert per kind of compliance event (work.blocked,
-- submission.needs_review, ...) and point, so the kind joins the one-live-alert key. For every
-- other rule the kind is the rule's own, so nothing changes for them.
DROP INDEX alerts_one_live;
CREATE UNIQUE INDEX alerts_one_live ON alerts (rule_id, subject, kind) WHERE status <> 'cleared';
