"""The outbox worker: delivers due notifications, retries failures, never sends one twice.

Runs in the telemetry service (one per replica). Each pass claims up to
:data:`CLAIM_LIMIT` due notifications with a lease long enough to try every one of them
(:data:`LEASE_S`), sends them one at a time through :class:`~central.notify.Notifier`, and
records each outcome (which frees the lease). An SMTP outage only moves
``next_attempt_at`` forward along the backoff schedule.

Delivery is at least once: a replica that dies after sending and before recording leaves
its lease to expire, and the notification is sent again. Webhook receivers can drop the
repeat by its ``X-Caudal-Delivery`` header (the notification id); e-mail and Apprise
channels have no such key, so the person may get that one message twice.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Sequence
from datetime import datetime
from uuid import uuid4

from central.context import AppContext
from central.core import lookups
from central.crypto import SecretBox
from central.db import Database, DatabaseError
from central.workers import Worker, every
from protocols.clock import Clock

from . import service
from .channels import Notifier
from .delivery import SEND_TIMEOUT_S, DeliveryResult, deliver_due
from .models import Channel, Notification
from .settings import NotifySettings, SmsSettings

log = logging.getLogger("caudal.central.notify")

CLAIM_LIMIT = 10
LEASE_S = CLAIM_LIMIT * SEND_TIMEOUT_S + 60
POLL_S = 10.0


def warn_unconfigured_sms(db: Database, settings: NotifySettings) -> int:
    """Log once (at start-up) when users ask for SMS but no provider is configured; how many ask."""
    if settings.sms is not None:
        return 0
    with db.connect() as conn:
        wanting = lookups.users_wanting_sms(conn)
    if wanting:
        log.warning(
            "%d usuario(s) piden alertas por SMS en su perfil, pero CAUDAL_SMS_APPRISE_URL no está"
            " configurado: no reciben SMS (el correo y sus propios canales siguen funcionando)",
            wanting,
        )
    return wanting


def worker_name(role: str) -> str:
    """Who holds a lease: host, process and a random tag (two workers in one process differ)."""
    return f"{role}@{socket.gethostname()}:{os.getpid()}:{uuid4().hex[:6]}"


class DbOutbox:
    """:class:`central.notify.Outbox` over the database, for one worker (``sms``: the provider
    that profile SMS go through, ``NotifySettings.sms``)."""

    def __init__(
        self, db: Database, box: SecretBox, worker: str, lease_s: float = LEASE_S, *, sms: SmsSettings | None = None
    ) -> None:
        self.db, self.box, self.worker, self.lease_s, self.sms = db, box, worker, lease_s, sms

    async def claim_due(self, now: datetime, limit: int) -> Sequence[tuple[Notification, Channel]]:
        return await asyncio.to_thread(
            service.claim_due, self.db, self.box, self.worker, now, limit, self.lease_s, self.sms
        )

    async def record(self, result: DeliveryResult) -> None:
        await asyncio.to_thread(service.record, self.db, result, self.worker)


async def deliver_pass(outbox: DbOutbox, notifier: Notifier, clock: Clock) -> int:
    """Deliver everything due now, batch after batch; returns how many attempts were made."""
    attempts = 0
    while True:
        results = await deliver_due(outbox, notifier, clock, limit=CLAIM_LIMIT)
        attempts += len(results)
        if len(results) < CLAIM_LIMIT:
            return attempts


async def run_outbox(
    outbox: DbOutbox, settings: NotifySettings, clock: Clock, stop: asyncio.Event, *, poll_s: float = POLL_S
) -> None:
    """The worker loop, until ``stop`` is set; a failing pass is logged and tried again."""
    async with Notifier(settings) as notifier:
        await every(clock, stop, poll_s, lambda: deliver_pass(outbox, notifier, clock), log, "pasada de notificaciones")


def outbox_worker(ctx: AppContext) -> Worker:
    """The ``workers(ctx)`` entry: the outbox loop of this process."""
    settings = ctx.notify_settings
    outbox = DbOutbox(ctx.db, ctx.secret_box, worker_name(ctx.role), sms=settings.sms)

    async def notification_outbox(stop: asyncio.Event) -> None:
        try:
            await asyncio.to_thread(warn_unconfigured_sms, ctx.db, settings)
        except DatabaseError as exc:  # not migrated yet, or down: the loop below waits it out
            log.warning("no se pudieron revisar las preferencias de SMS al iniciar: %s", exc)
        await run_outbox(outbox, settings, ctx.clock, stop)

    return notification_outbox
