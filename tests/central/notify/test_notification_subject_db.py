"""Migration 0221: a notification queued before it takes what its alert is about from the alert,
so the outbox still checks that its user may see that subject (each domain reads only its own
tables, and the outbox no longer reads the alerts table)."""

from __future__ import annotations

from datetime import UTC, datetime

from central.db import Database, migrate, open_database
from tests.schema import migrate_before

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


def _queue_one_before_the_migration(db: Database) -> None:
    with db.transaction() as conn:
        conn.execute("INSERT INTO users (username, password_hash, created_at) VALUES ('ana', 'x', :t)", {"t": NOW})
        conn.execute(
            "INSERT INTO points (code, name, kind, created_at, updated_at) VALUES ('P1', 'Pozo', 'subterranea',"
            " :t, :t)",
            {"t": NOW},
        )
        conn.execute(
            "INSERT INTO alerts (id, kind, subject, point_id, severity, status, message, opened_at,"
            " last_seen_at) SELECT 'a-1', 'silence', 'P1', id, 'warning', 'open', 'm', :t, :t FROM points",
            {"t": NOW},
        )
        for note, alert in (("n-alert", "a-1"), ("n-test", None)):
            conn.execute(
                "INSERT INTO notifications (id, user_id, channel_name, subject, body, severity, alert_id,"
                " created_at) SELECT :id, id, 'correo', 's', 'b', 'warning', :alert, :t FROM users",
                {"id": note, "alert": alert, "t": NOW},
            )


def test_a_notification_queued_before_the_migration_keeps_what_its_alert_is_about(database_url: str) -> None:
    db = open_database(database_url)
    try:
        migrate_before(db, 221, NOW)
        _queue_one_before_the_migration(db)
        assert min(m.version for m in migrate(db)) == 221
        with db.connect() as conn:
            rows = conn.fetchall(
                "SELECT n.id, n.subject_point_id = p.id AS same_point, n.subject_gateway_id,"
                " n.subject_name FROM notifications n LEFT JOIN points p ON p.code = 'P1' ORDER BY n.id"
            )
    finally:
        db.close()
    assert [
        (
            r["id"],
            bool(r["same_point"]) if r["same_point"] is not None else None,
            r["subject_gateway_id"],
            r["subject_name"],
        )
        for r in rows
    ] == [("n-alert", True, None, "P1"), ("n-test", None, None, None)]
