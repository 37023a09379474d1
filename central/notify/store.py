"""Notification channels and the outbox in the database.

Channels are stored as JSON without their secrets; the secret fields (a webhook's shared
secret, an Apprise URL, which carries provider tokens) are encrypted together with
``CAUDAL_SECRET_KEY`` and only decrypted to send. Nothing here returns a secret to a
caller that shows things to people: :class:`ChannelOut` has no secret fields.

The outbox is claimed with a lease: a worker marks the due rows it takes
(``lease_by``/``lease_until``, on PostgreSQL under ``FOR UPDATE SKIP LOCKED``) and clears
the lease when it records the result, so two replicas never send the same notification.
A lease that runs out (the worker died mid-send) makes the row claimable again: delivery
is at least once, never lost.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, Field, ValidationError

from central.core import lookups
from central.core.auth import User, point_for_user
from central.crypto import SecretBox, SecretKeyMissing, UndecryptableSecret
from central.db import Connection, Database
from central.pagination import Page, PageQuery, fetch_page
from central.telemetry.alerts.rules import Severity

from .delivery import DeliveryAttempt, DeliveryResult
from .models import (
    CHANNEL_ADAPTER,
    Channel,
    EmailChannel,
    Notification,
    SmsChannel,
    Subscription,
)
from .settings import Preferences, SmsSettings

SECRET_FIELDS: dict[str, tuple[str, ...]] = {"email": (), "sms": ("apprise_url",), "webhook": ("secret",),
                                             "apprise": ("apprise_url",)}
_PENDING = "n.delivered_at IS NULL AND n.gave_up_at IS NULL"
PREFERENCE_CHANNELS = {"email": "perfil: correo", "sms": "perfil: SMS"}  # channel_name of profile notifications


class ChannelOut(BaseModel):
    """A channel as its owner sees it: every setting except the secrets, which are only named."""

    id: int
    kind: str
    name: str
    enabled: bool
    subscription: Subscription
    address: str | None = Field(default=None, description="E-mail channels")
    url: str | None = Field(default=None, description="Webhook channels")
    secrets_set: list[str] = Field(description="Secret fields stored (encrypted); never shown")
    created_at: AwareDatetime
    updated_at: AwareDatetime


# --- channels ---------------------------------------------------------------------------------


def _split(channel: Channel, box: SecretBox) -> tuple[str, str | None]:
    """(config JSON without secrets, encrypted JSON of the secrets or None)."""
    hidden = SECRET_FIELDS[channel.kind]
    config = channel.model_dump(mode="json", exclude={"kind", *hidden})
    if not hidden:
        return json.dumps(config), None
    secrets = {name: getattr(channel, name).get_secret_value() for name in hidden}
    return json.dumps(config), box.encrypt(json.dumps(secrets))


def channel_of(row: dict[str, Any], box: SecretBox) -> Channel:
    """The full channel (secrets decrypted) from its row: only for sending."""
    data = _config(row)
    if row["secret"]:
        data.update(json.loads(box.decrypt(row["secret"])))
    return CHANNEL_ADAPTER.validate_python(data)


def _config(row: dict[str, Any]) -> dict[str, Any]:
    """A row's settings with its kind, which the ``type`` column holds (rows stored before the
    discriminator was named ``kind`` also carry it in their JSON as ``type``)."""
    config = json.loads(row["config"])
    config.pop("type", None)
    return {**config, "kind": row["type"]}


def channel_out(row: dict[str, Any]) -> ChannelOut:
    config = json.loads(row["config"])
    return ChannelOut(id=row["id"], kind=row["type"], name=config["name"], enabled=config["enabled"],
                      subscription=config["subscription"], address=config.get("address"), url=config.get("url"),
                      secrets_set=list(SECRET_FIELDS[row["type"]]), created_at=row["created_at"],
                      updated_at=row["updated_at"])


def list_channels(conn: Connection, user_id: int, paging: PageQuery) -> Page[ChannelOut]:
    return fetch_page(conn, "SELECT * FROM notify_channels WHERE user_id = :u ORDER BY id", {"u": user_id}, paging,
                      channel_out)


def channel_row(conn: Connection, user_id: int, channel_id: int) -> dict[str, Any] | None:
    """The row of one of ``user_id``'s channels (None: not theirs, or no such channel)."""
    return conn.fetchone("SELECT * FROM notify_channels WHERE id = :id AND user_id = :u",
                         {"id": channel_id, "u": user_id})


def create_channel(conn: Connection, user_id: int, channel: Channel, box: SecretBox, now: datetime) -> ChannelOut:
    """Store a new channel; a name already used by this user raises ``IntegrityError``."""
    config, secret = _split(channel, box)
    channel_id = conn.fetchval(
        "INSERT INTO notify_channels (user_id, name, type, config, secret, created_at, updated_at)"
        " VALUES (:u, :name, :type, :config, :secret, :now, :now) RETURNING id",
        {"u": user_id, "name": channel.name, "type": channel.kind, "config": config, "secret": secret, "now": now},
    )
    return channel_out(channel_row(conn, user_id, channel_id))  # type: ignore[arg-type]


def merged_channel(row: dict[str, Any], change: dict[str, Any], box: SecretBox) -> Channel:
    """The stored channel with ``change`` applied (omitted secrets are kept), validated again.

    Secrets that no longer decrypt (another ``CAUDAL_SECRET_KEY``) are dropped, so the change
    must give them again: validation then names the missing field.
    """
    current = _config(row)
    if row["secret"]:
        try:
            current.update(json.loads(box.decrypt(row["secret"])))
        except (SecretKeyMissing, UndecryptableSecret):
            pass
    if "kind" in change and change["kind"] != current["kind"]:
        raise ValueError(f"kind: el tipo de un canal no cambia ({current['kind']}); cree un canal nuevo")
    return CHANNEL_ADAPTER.validate_python({**current, **change})


def update_channel(conn: Connection, row: dict[str, Any], channel: Channel, box: SecretBox, now: datetime
                   ) -> ChannelOut:
    config, secret = _split(channel, box)
    conn.execute("UPDATE notify_channels SET name = :name, config = :config, secret = :secret, updated_at = :now"
                 " WHERE id = :id", {"id": row["id"], "name": channel.name, "config": config, "secret": secret,
                                     "now": now})
    return channel_out(channel_row(conn, row["user_id"], row["id"]))  # type: ignore[arg-type]


def delete_channel(conn: Connection, user_id: int, channel_id: int) -> bool:
    """Delete; its pending notifications are given up by the next claim (their log stays)."""
    return conn.execute("DELETE FROM notify_channels WHERE id = :id AND user_id = :u",
                        {"id": channel_id, "u": user_id}) == 1


# --- who hears about an alert -------------------------------------------------------------------


class AlertSubject(NamedTuple):
    """What an alert notification is about: a point or a gateway (one id set), and its name."""

    point_id: int | None
    gateway_id: int | None
    name: str


def _sees(user_id: str, point_id: int | None, gateway_id: int | None) -> tuple[str, dict[str, Any]]:
    """SQL: the user may see the point, or one of the gateway's points."""
    if point_id is not None:
        return lookups.user_sees_sql(user_id, point_id=":p"), {"p": point_id}
    return lookups.user_sees_sql(user_id, gateway_id=":g"), {"g": gateway_id}


def subscribed_channels(conn: Connection, *, point_id: int | None, gateway_id: int | None, severity: Severity,
                        subjects: list[str]) -> list[dict[str, Any]]:
    """Enabled channels of active users who may see the subject and whose subscription wants it.

    ``subjects``: the point code, or the gateway name followed by its points' codes.
    """
    sees, params = _sees("u.id", point_id, gateway_id)
    rows = conn.fetchall(
        "SELECT c.id, c.name, c.config, c.user_id, u.username FROM notify_channels c"
        f" JOIN {lookups.users_sql()} u ON u.id = c.user_id WHERE u.is_active AND (u.is_admin OR {sees}) ORDER BY c.id",
        params,
    )
    chosen = []
    for row in rows:
        config = json.loads(row["config"])
        if config["enabled"] and Subscription.model_validate(config["subscription"]).wants(severity, subjects):
            chosen.append(row)
    return chosen


def preference_recipients(conn: Connection, *, point_id: int | None, gateway_id: int | None, severity: Severity,
                          preferences: Preferences) -> list[dict[str, Any]]:
    """Users whose profile asks for this alert: ``{user_id, username, preference}`` rows.

    E-mail: ``notify_email`` and an address, unless one of the user's own e-mail channels
    already has that address (the channel's subscription then decides, so one address never
    gets the same alert twice). SMS: ``notify_sms`` and a phone number, unless the user has an
    SMS channel of their own. Both only for users who may see the subject.
    """
    wanted = [kind for kind, floor in (("email", preferences.email), ("sms", preferences.sms))
              if floor is not None and severity.rank >= floor.rank]
    if not wanted:
        return []
    sees, params = _sees("u.id", point_id, gateway_id)
    users = conn.fetchall(
        f"SELECT u.id, u.username, u.email, u.phone, u.notify_email, u.notify_sms FROM {lookups.users_sql()} u"
        " WHERE u.is_active AND ((u.notify_email AND u.email IS NOT NULL) OR (u.notify_sms AND u.phone IS NOT NULL))"
        f" AND (u.is_admin OR {sees}) ORDER BY u.id", params)
    taken = _own_addresses(conn, [user["id"] for user in users])
    chosen = []
    for user in users:
        own = taken.get(user["id"], set())
        if "email" in wanted and user["notify_email"] and user["email"] and user["email"].lower() not in own:
            chosen.append({"user_id": user["id"], "username": user["username"], "preference": "email"})
        if "sms" in wanted and user["notify_sms"] and user["phone"] and "sms" not in own:
            chosen.append({"user_id": user["id"], "username": user["username"], "preference": "sms"})
    return chosen


def _own_addresses(conn: Connection, user_ids: Sequence[int]) -> dict[int, set[str]]:
    """Per user: the (lower-case) addresses of their e-mail channels, and ``"sms"`` if they have an SMS one."""
    if not user_ids:
        return {}
    marks, params = _marks("u", user_ids)
    found: dict[int, set[str]] = {}
    for row in conn.fetchall(f"SELECT user_id, type, config FROM notify_channels WHERE user_id IN ({marks})"
                             " AND type IN ('email', 'sms')", params):
        key = json.loads(row["config"])["address"].lower() if row["type"] == "email" else "sms"
        found.setdefault(row["user_id"], set()).add(key)
    return found


# --- the outbox ---------------------------------------------------------------------------------


def enqueue(conn: Connection, notification: Notification, *, user_id: int, channel_id: int | None,
            alert_event: str | None = None, lease: tuple[str, datetime] | None = None,
            preference: str | None = None, subject: AlertSubject | None = None) -> None:
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
        {"id": str(notification.id), "u": user_id, "c": channel_id, "pref": preference, "name": notification.channel,
         "subject": notification.subject, "body": notification.body, "severity": notification.severity.value,
         "alert": str(notification.alert_id) if notification.alert_id else None, "event": alert_event,
         "created": notification.created_at, "next": notification.next_attempt_at, "by": lease_by,
         "until": lease_until, "about_point": about.point_id, "about_gateway": about.gateway_id,
         "about_name": about.name or None},
    )


def notification_of(row: dict[str, Any]) -> Notification:
    return Notification(id=UUID(row["id"]), user=row["username"], channel=row["channel_name"],
                        subject=row["subject"], body=row["body"], severity=row["severity"],
                        alert_id=UUID(row["alert_id"]) if row["alert_id"] else None, created_at=row["created_at"],
                        attempts=row["attempts"], next_attempt_at=row["next_attempt_at"],
                        delivered_at=row["delivered_at"], gave_up_at=row["gave_up_at"], last_error=row["last_error"])


def _marks(prefix: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    names = {f"{prefix}{i}": value for i, value in enumerate(values)}
    return ", ".join(f":{name}" for name in names), names


def claim_due(db: Database, box: SecretBox, worker: str, now: datetime, limit: int, lease_s: float,
              sms: SmsSettings | None = None) -> list[tuple[Notification, Channel]]:
    """Take up to ``limit`` due notifications for ``worker`` until ``now + lease_s``.

    ``sms``: the SMS provider that profile SMS go through (None: they are given up).
    """
    with db.transaction() as conn:
        _give_up_orphans(conn, now)
        skip_locked = " FOR UPDATE SKIP LOCKED" if conn.dialect == "postgresql" else ""
        ids = [row["id"] for row in conn.fetchall(
            f"SELECT n.id FROM notifications n WHERE {_PENDING} AND n.next_attempt_at <= :now"
            " AND (n.lease_until IS NULL OR n.lease_until <= :now)"
            f" ORDER BY n.next_attempt_at, n.seq LIMIT :limit{skip_locked}",
            {"now": now, "limit": limit})]
        if not ids:
            return []
        marks, params = _marks("id", ids)
        conn.execute(f"UPDATE notifications SET lease_by = :w, lease_until = :until WHERE id IN ({marks})",
                     {**params, "w": worker, "until": now + timedelta(seconds=lease_s)})
        rows = conn.fetchall(
            "SELECT n.*, u.username, u.email, u.phone, u.notify_email, u.notify_sms, u.is_admin, c.config, c.secret,"
            f" c.type FROM notifications n JOIN {lookups.users_sql()} u ON u.id = n.user_id"
            f" LEFT JOIN notify_channels c ON c.id = n.channel_id WHERE n.id IN ({marks})"
            " ORDER BY n.next_attempt_at, n.seq", params)
        return _readable(conn, rows, box, now, sms)


class PreferenceGone(ValueError):
    """The profile no longer asks for this notification (preference off, address removed, no SMS provider)."""


class SubjectHidden(ValueError):
    """The user may no longer see the point (or any point of the gateway) the alert is about."""


def check_still_visible(conn: Connection, row: dict[str, Any]) -> None:
    """Raise :class:`SubjectHidden` if the claimed notification's alert is about something its user
    may no longer see: access can be taken away while a notification waits in the outbox."""
    point_id, gateway_id = row["subject_point_id"], row["subject_gateway_id"]
    if row["is_admin"] or (point_id is None and gateway_id is None):
        return
    sees, params = _sees(":u", point_id, gateway_id)
    if conn.fetchone(f"SELECT 1 AS x WHERE {sees}", {**params, "u": row["user_id"]}) is None:
        raise SubjectHidden(f"{row['username']} ya no puede ver {row['subject_name']}")


def unseen_points(conn: Connection, user: User, codes: Sequence[str]) -> list[str]:
    """The codes among ``codes`` that name no point ``user`` may see; a missing point and a hidden one
    look alike, so a subscription cannot probe which codes exist."""
    return [code for code in dict.fromkeys(codes) if point_for_user(conn, user, code) is None]


def preference_channel(row: dict[str, Any], sms: SmsSettings | None) -> Channel:
    """The channel a profile notification goes through, from the user's profile as it is NOW."""
    name = row["channel_name"]
    if row["preference"] == "email":
        if not (row["notify_email"] and row["email"]):
            raise PreferenceGone(f"{row['username']} ya no quiere correos de alerta o no tiene dirección de correo")
        return EmailChannel(name=name, address=row["email"])
    if not (row["notify_sms"] and row["phone"]):
        raise PreferenceGone(f"{row['username']} ya no quiere SMS de alerta o no tiene número de teléfono")
    if sms is None:
        raise PreferenceGone("no hay un proveedor de SMS configurado (CAUDAL_SMS_APPRISE_URL)")
    return SmsChannel(name=name, apprise_url=sms.url_for(row["phone"]))


def _readable(conn: Connection, rows: list[dict[str, Any]], box: SecretBox, now: datetime,
              sms: SmsSettings | None) -> list[tuple[Notification, Channel]]:
    """The claimed rows whose channel can be rebuilt; the others are given up with the reason
    (a channel whose secrets no longer decrypt, e.g. after CAUDAL_SECRET_KEY changed; a profile
    that no longer asks for it; an alert about a point its user may no longer see)."""
    claimed = []
    for row in rows:
        try:
            check_still_visible(conn, row)
            channel = channel_of(row, box) if row["preference"] is None else preference_channel(row, sms)
            claimed.append((notification_of(row), channel))
        except (SecretKeyMissing, UndecryptableSecret, ValidationError, PreferenceGone, SubjectHidden) as exc:
            conn.execute("UPDATE notifications SET gave_up_at = :now, next_attempt_at = NULL, last_error = :error,"
                         " lease_by = NULL, lease_until = NULL WHERE id = :id",
                         {"id": row["id"], "now": now, "error": f"canal {row['channel_name']!r}: {exc}"})
    return claimed


def _give_up_orphans(conn: Connection, now: datetime) -> None:
    conn.execute(f"UPDATE notifications SET gave_up_at = :now, next_attempt_at = NULL,"
                 f" last_error = 'the channel was deleted' WHERE channel_id IS NULL AND preference IS NULL"
                 f" AND {_PENDING.replace('n.', '')}",
                 {"now": now})


def record(db: Database, result: DeliveryResult, worker: str) -> None:
    """Store the outcome of one attempt and append it to the delivery log; frees the lease."""
    if result.attempt is None:
        return
    n = result.notification
    with db.transaction() as conn:
        conn.execute(
            "UPDATE notifications SET attempts = :attempts, next_attempt_at = :next, delivered_at = :delivered,"
            " gave_up_at = :gave_up, last_error = :error, lease_by = NULL, lease_until = NULL"
            " WHERE id = :id AND delivered_at IS NULL AND gave_up_at IS NULL",
            {"id": str(n.id), "attempts": n.attempts, "next": n.next_attempt_at, "delivered": n.delivered_at,
             "gave_up": n.gave_up_at, "error": n.last_error})
        _log(conn, result.attempt, worker)


def _log(conn: Connection, attempt: DeliveryAttempt, worker: str) -> None:
    conn.execute("INSERT INTO notification_attempts (notification_id, attempt, at, outcome, error, worker)"
                 " VALUES (:n, :attempt, :at, :outcome, :error, :worker)",
                 {"n": attempt.notification_id, "attempt": attempt.attempt, "at": attempt.at,
                  "outcome": attempt.outcome.value, "error": attempt.error, "worker": worker})


# --- one's own deliveries -----------------------------------------------------------------------


class AttemptOut(BaseModel):
    attempt: int
    at: AwareDatetime
    outcome: str
    error: str | None


class NotificationOut(BaseModel):
    """One notification with its delivery log."""

    id: UUID
    channel: str
    subject: str
    body: str
    severity: Severity
    alert_id: UUID | None
    created_at: AwareDatetime
    attempts: int
    next_attempt_at: AwareDatetime | None
    delivered_at: AwareDatetime | None
    gave_up_at: AwareDatetime | None
    last_error: str | None
    log: list[AttemptOut]


def list_notifications(conn: Connection, user_id: int, paging: PageQuery) -> Page[NotificationOut]:
    """``user_id``'s notifications, newest first, each with its attempts."""
    sql = ("SELECT id, channel_name AS channel, subject, body, severity, alert_id, created_at, attempts,"
           " next_attempt_at, delivered_at, gave_up_at, last_error FROM notifications WHERE user_id = :u"
           " ORDER BY seq DESC")
    page = fetch_page(conn, sql, {"u": user_id}, paging, lambda row: row)
    logs: dict[str, list[AttemptOut]] = {row["id"]: [] for row in page.items}
    if logs:
        marks, params = _marks("n", list(logs))
        for row in conn.fetchall("SELECT notification_id, attempt, at, outcome, error FROM notification_attempts"
                                 f" WHERE notification_id IN ({marks}) ORDER BY id", params):
            logs[row.pop("notification_id")].append(AttemptOut(**row))
    items = [NotificationOut(**row, log=logs[row["id"]]) for row in page.items]
    return Page[NotificationOut](items=items, total=page.total, limit=page.limit, offset=page.offset)
