"""The rules of notification: channel secrets, who hears about an alert, what a claim may send.

A channel's secret fields (a webhook's shared secret, an Apprise URL, which carries provider
tokens) are encrypted together with ``CAUDAL_SECRET_KEY`` and only decrypted to send; nothing
here returns a secret to a caller that shows things to people (:class:`.models.ChannelOut`
has no secret fields).

The outbox is claimed with a lease (:func:`.store.lease_due`), so two replicas never send
the same notification. A lease that runs out (the worker died mid-send) makes the row
claimable again: delivery is at least once, never lost.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from central.core.auth.models import User
from central.core.lookups import point_for_user
from central.crypto import SecretBox, SecretKeyMissing, UndecryptableSecret
from central.db import Connection, Database
from central.telemetry.alerts.rules import Severity

from . import store
from .delivery import DeliveryResult
from .errors import PreferenceGone, SubjectHidden
from .models import (
    CHANNEL_ADAPTER,
    SECRET_FIELDS,
    Channel,
    ChannelOut,
    EmailChannel,
    Notification,
    SmsChannel,
    Subscription,
)
from .settings import Preferences, SmsSettings

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


def create_channel(conn: Connection, user_id: int, channel: Channel, box: SecretBox, now: datetime) -> ChannelOut:
    """Store a new channel; a name already used by this user raises ``IntegrityError``."""
    config, secret = _split(channel, box)
    channel_id = store.insert_channel(conn, user_id, channel.name, channel.kind, config, secret, now)
    return store.channel_out(store.channel_row(conn, user_id, channel_id))  # type: ignore[arg-type]


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


def update_channel(
    conn: Connection, row: dict[str, Any], channel: Channel, box: SecretBox, now: datetime
) -> ChannelOut:
    config, secret = _split(channel, box)
    store.update_channel(conn, row["id"], channel.name, config, secret, now)
    return store.channel_out(store.channel_row(conn, row["user_id"], row["id"]))  # type: ignore[arg-type]


def unseen_points(conn: Connection, user: User, codes: Sequence[str]) -> list[str]:
    """The codes among ``codes`` that name no point ``user`` may see; a missing point and a hidden one
    look alike, so a subscription cannot probe which codes exist."""
    return [code for code in dict.fromkeys(codes) if point_for_user(conn, user, code) is None]


# --- who hears about an alert -------------------------------------------------------------------


def subscribed_channels(
    conn: Connection, *, point_id: int | None, gateway_id: int | None, severity: Severity, subjects: list[str]
) -> list[dict[str, Any]]:
    """Enabled channels of active users who may see the subject and whose subscription wants it.

    ``subjects``: the point code, or the gateway name followed by its points' codes.
    """
    chosen = []
    for row in store.viewers_channels(conn, point_id, gateway_id):
        config = json.loads(row["config"])
        if config["enabled"] and Subscription.model_validate(config["subscription"]).wants(severity, subjects):
            chosen.append(row)
    return chosen


def preference_recipients(
    conn: Connection, *, point_id: int | None, gateway_id: int | None, severity: Severity, preferences: Preferences
) -> list[dict[str, Any]]:
    """Users whose profile asks for this alert: ``{user_id, username, preference}`` rows.

    E-mail: ``notify_email`` and an address, unless one of the user's own e-mail channels
    already has that address (the channel's subscription then decides, so one address never
    gets the same alert twice). SMS: ``notify_sms`` and a phone number, unless the user has an
    SMS channel of their own. Both only for users who may see the subject.
    """
    wanted = [
        kind
        for kind, floor in (("email", preferences.email), ("sms", preferences.sms))
        if floor is not None and severity.rank >= floor.rank
    ]
    if not wanted:
        return []
    users = store.viewers_with_contact(conn, point_id, gateway_id)
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
    found: dict[int, set[str]] = {}
    for row in store.email_and_sms_channels(conn, user_ids):
        key = json.loads(row["config"])["address"].lower() if row["type"] == "email" else "sms"
        found.setdefault(row["user_id"], set()).add(key)
    return found


# --- the outbox ---------------------------------------------------------------------------------


def claim_due(
    db: Database, box: SecretBox, worker: str, now: datetime, limit: int, lease_s: float, sms: SmsSettings | None = None
) -> list[tuple[Notification, Channel]]:
    """Take up to ``limit`` due notifications for ``worker`` until ``now + lease_s``.

    ``sms``: the SMS provider that profile SMS go through (None: they are given up).
    """
    with db.transaction() as conn:
        store.give_up_orphans(conn, now)
        rows = store.lease_due(conn, worker, now, limit, now + timedelta(seconds=lease_s))
        return _readable(conn, rows, box, now, sms)


def check_still_visible(conn: Connection, row: dict[str, Any]) -> None:
    """Raise :class:`SubjectHidden` if the claimed notification's alert is about something its user
    may no longer see: access can be taken away while a notification waits in the outbox."""
    point_id, gateway_id = row["subject_point_id"], row["subject_gateway_id"]
    if row["is_admin"] or (point_id is None and gateway_id is None):
        return
    if not store.still_sees(conn, row["user_id"], point_id, gateway_id):
        raise SubjectHidden(f"{row['username']} ya no puede ver {row['subject_name']}")


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


def _readable(
    conn: Connection, rows: list[dict[str, Any]], box: SecretBox, now: datetime, sms: SmsSettings | None
) -> list[tuple[Notification, Channel]]:
    """The claimed rows whose channel can be rebuilt; the others are given up with the reason
    (a channel whose secrets no longer decrypt, e.g. after CAUDAL_SECRET_KEY changed; a profile
    that no longer asks for it; an alert about a point its user may no longer see)."""
    claimed = []
    for row in rows:
        try:
            check_still_visible(conn, row)
            channel = channel_of(row, box) if row["preference"] is None else preference_channel(row, sms)
            claimed.append((store.notification_of(row), channel))
        except (SecretKeyMissing, UndecryptableSecret, ValidationError, PreferenceGone, SubjectHidden) as exc:
            store.give_up(conn, row["id"], now, f"canal {row['channel_name']!r}: {exc}")
    return claimed


def record(db: Database, result: DeliveryResult, worker: str) -> None:
    """Store the outcome of one attempt and append it to the delivery log; frees the lease."""
    if result.attempt is None:
        return
    with db.transaction() as conn:
        store.record_attempt(conn, result.notification, result.attempt, worker)
