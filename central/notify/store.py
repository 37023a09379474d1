"""Notification channels, the outbox and the delivery log in the database: the SQL only.

Channels are stored as JSON without their secrets, which arrive here already encrypted
(:mod:`.service`). The outbox is claimed with a lease: a worker marks the due rows it takes
(``lease_by``/``lease_until``, on PostgreSQL under ``FOR UPDATE SKIP LOCKED``) and clears the
lease when it records the result, so two replicas never send the same notification.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from central.core import lookups
from central.db import Connection, in_list
from central.pagination import Page, PageQuery, fetch_page

from .delivery import DeliveryAttempt
from .models import SECRET_FIELDS, AlertSubject, AttemptOut, ChannelOut, Notification, NotificationOut

_PENDING = "n.delivered_at IS NULL AND n.gave_up_at IS NULL"


# --- channels ---------------------------------------------------------------------------------


def channel_out(row: dict[str, Any]) -> ChannelOut:
    config = json.loads(row["config"])
    return ChannelOut(
        id=row["id"],
        kind=row["type"],
        name=config["name"],
        enabled=config["enabled"],
        subscription=config["subscription"],
        address=config.get("address"),
        url=config.get("url"),
        secrets_set=list(SECRET_FIELDS[row["type"]]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def list_channels(conn: Connection, user_id: int, paging: PageQuery) -> Page[ChannelOut]:
    return fetch_page(
        conn, "SELECT * FROM notify_channels WHERE user_id = :u ORDER BY id", {"u": user_id}, paging, channel_out
    )


def channel_row(conn: Connection, user_id: int, channel_id: int) -> dict[str, Any] | None:
    """The row of one of ``user_id``'s channels (None: not theirs, or no such channel)."""
    return conn.fetchone(
        "SELECT * FROM notify_channels WHERE id = :id AND user_id = :u", {"id": channel_id, "u": user_id}
    )


def insert_channel(
    conn: Connection, user_id: int, name: str, kind: str, config: str, secret: str | None, now: datetime
) -> int:
    """Store a new channel; its id. A name already used by this user raises ``IntegrityError``."""
    return conn.fetchval(
        "INSERT INTO notify_channels (user_id, name, type, config, secret, created_at, updated_at)"
        " VALUES (:u, :name, :type, :config, :secret, :now, :now) RETURNING id",
        {"u": user_id, "name": name, "type": kind, "config": config, "secret": secret, "now": now},
    )


def update_channel(
    conn: Connection, channel_id: int, name: str, config: str, secret: str | None, now: datetime
) -> None:
    conn.execute(
        "UPDATE notify_channels SET name = :name, config = :config, secret = :secret, updated_at = :now WHERE id = :id",
        {"id": channel_id, "name": name, "config": config, "secret": secret, "now": now},
    )


def delete_channel(conn: Connection, user_id: int, channel_id: int) -> bool:
    """Delete; its pending notifications are given up by the next claim (their log stays)."""
    return (
        conn.execute("DELETE FROM notify_channels WHERE id = :id AND user_id = :u", {"id": channel_id, "u": user_id})
        == 1
    )


# --- who hears about an alert -------------------------------------------------------------------


def sees_sql(user_id: str, point_id: int | None, gateway_id: int | None) -> tuple[str, dict[str, Any]]:
    """SQL: the user may see the point, or one of the gateway's points."""
    if point_id is not None:
        return lookups.user_sees_sql(user_id, point_id=":p"), {"p": point_id}
    return lookups.user_sees_sql(user_id, gateway_id=":g"), {"g": gateway_id}


def viewers_channels(conn: Connection, point_id: int | None, gateway_id: int | None) -> list[dict[str, Any]]:
    """Every channel of an active user who may see the subject: id, name, config, user_id, username."""
    sees, params = sees_sql("u.id", point_id, gateway_id)
    return conn.fetchall(
        "SELECT c.id, c.name, c.config, c.user_id, u.username FROM notify_channels c"
        f" JOIN {lookups.users_sql()} u ON u.id = c.user_id WHERE u.is_active AND (u.is_admin OR {sees}) ORDER BY c.id",
        params,
    )


def viewers_with_contact(conn: Connection, point_id: int | None, gateway_id: int | None) -> list[dict[str, Any]]:
    """Active users who may see the subject and whose profile asks for e-mail (with an address) or SMS
    (with a phone): id, username, email, phone, notify_email, notify_sms."""
    sees, params = sees_sql("u.id", point_id, gateway_id)
    return conn.fetchall(
        f"SELECT u.id, u.username, u.email, u.phone, u.notify_email, u.notify_sms FROM {lookups.users_sql()} u"
        " WHERE u.is_active AND ((u.notify_email AND u.email IS NOT NULL) OR (u.notify_sms AND u.phone IS NOT NULL))"
        f" AND (u.is_admin OR {sees}) ORDER BY u.id",
        params,
    )


def email_and_sms_channels(conn: Connection, user_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The e-mail and SMS channels of these users: user_id, type, config."""
    if not user_ids:
        return []
    marks, params = in_list("u", user_ids)
    return conn.fetchall(
        f"SELECT user_id, type, config FROM notify_channels WHERE user_id IN ({marks}) AND type IN ('email', 'sms')",
        params,
    )


def still_sees(conn: Connection, user_id: int, point_id: int | None, gateway_id: int | None) -> bool:
    """Whether the user may see the point, or one of the gateway's points, now."""
    sees, params = sees_sql(":u", point_id, gateway_id)
    return conn.fetchone(f"SELECT 1 AS x WHERE {sees}", {**params, "u": user_id}) is not None


# --- the outbox ---------------------------------------------------------------------------------


def enqueue(
    conn: Connection,
    notification: Notification,
    *,
    user_id: int,
    channel_id: int | None,
    alert_event: str | None = None,
    lease: tuple[str, datetime] | None = None,
    preference: str | None = None,
    subject: AlertSubject | None = None,
) -> None:
    """Queue one notification in the caller's transaction (it commits with what caused it).

    Either ``channel_id`` (one of the user's channels) or ``preference`` (``email`` | ``sms``:
    the address in the user's profile, looked up when it is sent). ``lease`` (worker, until):
    queued already claimed, for a caller that sends it itself. ``subject``: what the alert is
    about, checked against the user's access again when it is sent.
    """
    if (channel_id is None) == (preference is None):
        raise ValueError("a notification goes to a channel or to a profile preference, exactly one of them")
    lease_by, lease_until = lease or (None, None)
    about = subject or AlertSubject(None, None, "")
    conn.execute(
        "INSERT INTO notifications (id, user_id, channel_id, preference, channel_name, subject, body, severity,"
        " alert_id, alert_event, created_at, attempts, next_attempt_at, lease_by, lease_until,"
        " subject_point_id, subject_gateway_id, subject_name)"
        " VALUES (:id, :u, :c, :pref, :name, :subject, :body, :severity, :alert, :event, :created, 0, :next, :by,"
        " :until, :about_point, :about_gateway, :about_name)",
        {
            "id": str(notification.id),
            "u": user_id,
            "c": channel_id,
            "pref": preference,
            "name": notification.channel,
            "subject": notification.subject,
            "body": notification.body,
            "severity": notification.severity.value,
            "alert": str(notification.alert_id) if notification.alert_id else None,
            "event": alert_event,
            "created": notification.created_at,
            "next": notification.next_attempt_at,
            "by": lease_by,
            "until": lease_until,
            "about_point": about.point_id,
            "about_gateway": about.gateway_id,
            "about_name": about.name or None,
        },
    )


def notification_of(row: dict[str, Any]) -> Notification:
    return Notification(
        id=UUID(row["id"]),
        user=row["username"],
        channel=row["channel_name"],
        subject=row["subject"],
        body=row["body"],
        severity=row["severity"],
        alert_id=UUID(row["alert_id"]) if row["alert_id"] else None,
        created_at=row["created_at"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        delivered_at=row["delivered_at"],
        gave_up_at=row["gave_up_at"],
        last_error=row["last_error"],
    )


def give_up_orphans(conn: Connection, now: datetime) -> None:
    """Give up the pending notifications whose channel was deleted."""
    conn.execute(
        f"UPDATE notifications SET gave_up_at = :now, next_attempt_at = NULL,"
        f" last_error = 'the channel was deleted' WHERE channel_id IS NULL AND preference IS NULL"
        f" AND {_PENDING.replace('n.', '')}",
        {"now": now},
    )


def lease_due(conn: Connection, worker: str, now: datetime, limit: int, until: datetime) -> list[dict[str, Any]]:
    """Lease up to ``limit`` due, unleased notifications to ``worker`` until ``until``; their rows with
    the user's contact details and the channel's config, in due order."""
    skip_locked = " FOR UPDATE SKIP LOCKED" if conn.dialect == "postgresql" else ""
    ids = [
        row["id"]
        for row in conn.fetchall(
            f"SELECT n.id FROM notifications n WHERE {_PENDING} AND n.next_attempt_at <= :now"
            " AND (n.lease_until IS NULL OR n.lease_until <= :now)"
            f" ORDER BY n.next_attempt_at, n.seq LIMIT :limit{skip_locked}",
            {"now": now, "limit": limit},
        )
    ]
    if not ids:
        return []
    marks, params = in_list("id", ids)
    conn.execute(
        f"UPDATE notifications SET lease_by = :w, lease_until = :until WHERE id IN ({marks})",
        {**params, "w": worker, "until": until},
    )
    return conn.fetchall(
        "SELECT n.*, u.username, u.email, u.phone, u.notify_email, u.notify_sms, u.is_admin, c.config, c.secret,"
        f" c.type FROM notifications n JOIN {lookups.users_sql()} u ON u.id = n.user_id"
        f" LEFT JOIN notify_channels c ON c.id = n.channel_id WHERE n.id IN ({marks})"
        " ORDER BY n.next_attempt_at, n.seq",
        params,
    )


def give_up(conn: Connection, notification_id: str, now: datetime, error: str) -> None:
    """Give up one claimed notification for good, saying why, and free its lease."""
    conn.execute(
        "UPDATE notifications SET gave_up_at = :now, next_attempt_at = NULL, last_error = :error,"
        " lease_by = NULL, lease_until = NULL WHERE id = :id",
        {"id": notification_id, "now": now, "error": error},
    )


def record_attempt(conn: Connection, n: Notification, attempt: DeliveryAttempt, worker: str) -> None:
    """Store the notification's state after an attempt, free its lease and append the attempt to the log."""
    conn.execute(
        "UPDATE notifications SET attempts = :attempts, next_attempt_at = :next, delivered_at = :delivered,"
        " gave_up_at = :gave_up, last_error = :error, lease_by = NULL, lease_until = NULL"
        " WHERE id = :id AND delivered_at IS NULL AND gave_up_at IS NULL",
        {
            "id": str(n.id),
            "attempts": n.attempts,
            "next": n.next_attempt_at,
            "delivered": n.delivered_at,
            "gave_up": n.gave_up_at,
            "error": n.last_error,
        },
    )
    conn.execute(
        "INSERT INTO notification_attempts (notification_id, attempt, at, outcome, error, worker)"
        " VALUES (:n, :attempt, :at, :outcome, :error, :worker)",
        {
            "n": attempt.notification_id,
            "attempt": attempt.attempt,
            "at": attempt.at,
            "outcome": attempt.outcome.value,
            "error": attempt.error,
            "worker": worker,
        },
    )


# --- one's own deliveries -----------------------------------------------------------------------


def list_notifications(conn: Connection, user_id: int, paging: PageQuery) -> Page[NotificationOut]:
    """``user_id``'s notifications, newest first, each with its attempts."""
    sql = (
        "SELECT id, channel_name AS channel, subject, body, severity, alert_id, created_at, attempts,"
        " next_attempt_at, delivered_at, gave_up_at, last_error FROM notifications WHERE user_id = :u"
        " ORDER BY seq DESC"
    )
    page = fetch_page(conn, sql, {"u": user_id}, paging, lambda row: row)
    logs: dict[str, list[AttemptOut]] = {row["id"]: [] for row in page.items}
    if logs:
        marks, params = in_list("n", list(logs))
        for row in conn.fetchall(
            "SELECT notification_id, attempt, at, outcome, error FROM notification_attempts"
            f" WHERE notification_id IN ({marks}) ORDER BY id",
            params,
        ):
            logs[row.pop("notification_id")].append(AttemptOut(**row))
    items = [NotificationOut(**row, log=logs[row["id"]]) for row in page.items]
    return Page[NotificationOut](items=items, total=page.total, limit=page.limit, offset=page.offset)
