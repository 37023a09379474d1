-- What an alert notification is about (the point or the gateway, and its name), kept with the
-- notification when it is queued: the outbox checks that its user may still see the alert's
-- subject without reading the alerts' table (each domain reads only its own tables,
-- central/db/ownership.py). Notifications queued before this migration take it from their alert.
ALTER TABLE notifications ADD COLUMN subject_point_id INTEGER;
ALTER TABLE notifications ADD COLUMN subject_gateway_id INTEGER;
ALTER TABLE notifications ADD COLUMN subject_name TEXT;
UPDATE notifications SET
    subject_point_id = (SELECT a.point_id FROM alerts a WHERE a.id = notifications.alert_id),
    subject_gateway_id = (SELECT a.gateway_id FROM alerts a WHERE a.id = notifications.alert_id),
    subject_name = (SELECT a.subject FROM alerts a WHERE a.id = notifications.alert_id)
    WHERE alert_id IS NOT NULL;
