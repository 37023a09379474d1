"""Delivery with retries: a notification waits in an outbox until it is delivered.

A worker (one per telemetry/core process; replicas coordinate through the db) asks the
outbox for due notifications -- the db implementation claims them, e.g. with
``FOR UPDATE SKIP LOCKED`` or a lease, so two replicas never send the same one -- calls
:func:`deliver` for each and records the result. A mail-server outage only pushes
``next_attempt_at`` forward along :func:`next_attempt_at`'s schedule; nothing is dropped.
A delivered notification is never sent again. Delivery is at least once: if the
process dies between sending and recording, that one notification is sent again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict

from protocols.clock import Clock

from .errors import DeliveryFailed
from .models import Channel, Notification, new_notification

# Seconds to wait after the n-th failed attempt; the last step repeats forever.
BACKOFF_S: tuple[int, ...] = (30, 60, 120, 300, 600, 1800)
SEND_TIMEOUT_S = 60.0


def next_attempt_at(attempts: int, now: datetime) -> datetime:
    """When to try again after ``attempts`` failed attempts (1 -> 30 s, ... capped at 30 min)."""
    if attempts < 1:
        return now
    return now + timedelta(seconds=BACKOFF_S[min(attempts, len(BACKOFF_S)) - 1])


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"  # failed; next_attempt_at says when to try again
    GAVE_UP = "gave_up"  # failed for good (permanent error or disabled channel)
    SKIPPED = "skipped"  # already delivered or given up: nothing sent


class DeliveryAttempt(BaseModel):
    """One row of a notification's delivery log."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    notification_id: str
    attempt: int
    at: AwareDatetime
    outcome: Outcome
    error: str | None = None


class DeliveryResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    notification: Notification  # the updated outbox row
    outcome: Outcome
    attempt: DeliveryAttempt | None  # None when SKIPPED

    @property
    def delivered(self) -> bool:
        return self.outcome is Outcome.DELIVERED


class Sender(Protocol):
    """What :func:`deliver` needs from the adapter (:class:`central.notify.channels.Notifier`)."""

    async def send(self, channel: Channel, notification: Notification) -> None: ...


async def deliver(
    notification: Notification, channel: Channel, clock: Clock, sender: Sender, *, timeout_s: float = SEND_TIMEOUT_S
) -> DeliveryResult:
    """Make one attempt (bounded by ``timeout_s``) and return the updated notification."""
    if not notification.pending:
        return DeliveryResult(notification=notification, outcome=Outcome.SKIPPED, attempt=None)
    try:
        if not channel.enabled:
            raise DeliveryFailed(f"el canal {channel.name!r} está desactivado", permanent=True)
        async with asyncio.timeout(timeout_s):
            await sender.send(channel, notification)
    except DeliveryFailed as exc:
        return _failed(notification, clock.now(), exc)
    except TimeoutError:
        return _failed(notification, clock.now(), DeliveryFailed(f"no answer within {timeout_s:g} s"))
    now = clock.now()
    updated = notification.model_copy(
        update={"attempts": notification.attempts + 1, "delivered_at": now, "next_attempt_at": None, "last_error": None}
    )
    return DeliveryResult(notification=updated, outcome=Outcome.DELIVERED, attempt=_log(updated, now, None))


def _failed(notification: Notification, now: datetime, exc: DeliveryFailed) -> DeliveryResult:
    attempts = notification.attempts + 1
    if exc.permanent:
        update = {"attempts": attempts, "gave_up_at": now, "next_attempt_at": None, "last_error": exc.reason}
        outcome = Outcome.GAVE_UP
    else:
        update = {"attempts": attempts, "next_attempt_at": next_attempt_at(attempts, now), "last_error": exc.reason}
        outcome = Outcome.RETRY
    updated = notification.model_copy(update=update)
    return DeliveryResult(notification=updated, outcome=outcome, attempt=_log(updated, now, exc.reason))


def _log(notification: Notification, now: datetime, error: str | None) -> DeliveryAttempt:
    if notification.delivered_at is not None:
        outcome = Outcome.DELIVERED
    else:
        outcome = Outcome.GAVE_UP if notification.gave_up_at is not None else Outcome.RETRY
    return DeliveryAttempt(
        notification_id=str(notification.id), attempt=notification.attempts, at=now, outcome=outcome, error=error
    )


class Outbox(Protocol):
    """Persistence the worker needs; the db layer implements it."""

    async def claim_due(self, now: datetime, limit: int) -> Sequence[tuple[Notification, Channel]]:
        """Due notifications with their channel, claimed so no other worker takes them."""

    async def record(self, result: DeliveryResult) -> None:
        """Store the updated notification and append the attempt to its delivery log."""


async def deliver_due(outbox: Outbox, sender: Sender, clock: Clock, *, limit: int = 50) -> list[DeliveryResult]:
    """One worker pass: deliver what is due now, one at a time, recording each result."""
    results = []
    for notification, channel in await outbox.claim_due(clock.now(), limit):
        result = await deliver(notification, channel, clock, sender)
        await outbox.record(result)
        results.append(result)
    return results


def probe_notification(user: str, channel: str, now: datetime) -> Notification:
    """What ``POST /api/v1/notifications/test`` queues: proof that a channel works."""
    return new_notification(
        user,
        channel,
        "[Caudal] Notificación de prueba",
        f"Prueba del canal {channel!r} de {user}. Si la recibe, el canal funciona.",
        now,
    )
