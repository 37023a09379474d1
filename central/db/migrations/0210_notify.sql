-- Notifications: per-user channels, the outbox, and the delivery log.

-- config is the channel (central/notify/models.py) as JSON WITHOUT its secrets; secret holds
-- the secret fields (webhook secret, Apprise URL) as JSON encrypted with CAUDAL_SECRET_KEY.
CREATE TABLE notify_channels (
    id {{ID}},
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('email', 'sms', 'webhook', 'apprise')),
    config TEXT NOT NULL,
    secret TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (user_id, name)
);

-- The outbox: one row per message to one channel. A worker claims due rows with a lease
-- (lease_by/lease_until) so two replicas never send the same one; delivered_at or
-- gave_up_at ends a row. alert_event names the transition that queued it, so the same
-- transition can never queue twice for one channel. seq keeps the order they were queued in.
CREATE TABLE notifications (
    seq {{ID}},
    id TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    channel_id BIGINT REFERENCES notify_channels(id) ON DELETE SET NULL,
    channel_name TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    severity TEXT NOT NULL,
    alert_id TEXT,
    alert_event TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ,
    delivered_at TIMESTAMPTZ,
    gave_up_at TIMESTAMPTZ,
    last_error TEXT,
    lease_by TEXT,
    lease_until TIMESTAMPTZ
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE delivered_at IS NULL AND gave_up_at IS NULL;
CREATE INDEX notifications_user ON notifications (user_id, created_at);
CREATE UNIQUE INDEX notifications_once ON notifications (alert_id, alert_event, channel_id) WHERE alert_id IS NOT NULL;

-- Every delivery attempt: when, which worker, what came of it.
CREATE TABLE notification_attempts (
    id {{ID}},
    notification_id TEXT NOT NULL REFERENCES notifications(id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('delivered', 'retry', 'gave_up')),
    error TEXT,
    worker TEXT NOT NULL
);
CREATE INDEX notification_attempts_notification ON notification_attempts (notification_id, id);
