"""Delivery with retries: backoff, the outbox worker, an SMTP outage that delays but never loses."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from central.notify import (
    DeliveryAttempt,
    DeliveryResult,
    EmailChannel,
    Notification,
    Notifier,
    Outcome,
    WebhookChannel,
    deliver,
    deliver_due,
    new_notification,
    next_attempt_at,
    probe_notification,
)
from central.notify.models import Channel
from protocols.clock import ManualClock

from .support import MemoryOutbox, SmtpServer, smtp_settings

CHANNEL = EmailChannel(name="correo", address="operadora@agua.example")


@pytest.mark.parametrize(
    ("attempts", "wait_s"),
    [(0, 0), (1, 30), (2, 60), (3, 120), (4, 300), (5, 600), (6, 1800), (7, 1800), (500, 1800)],
)
def test_backoff_schedule(attempts: int, wait_s: int, clock: ManualClock) -> None:
    assert next_attempt_at(attempts, clock.now()) == clock.now() + timedelta(seconds=wait_s)


async def test_smtp_down_then_up_delivers_every_notification_once(smtp_server: SmtpServer, clock: ManualClock) -> None:
    outbox = MemoryOutbox(CHANNEL)
    for i in range(5):
        outbox.add(new_notification("ana", "correo", f"Alerta {i}", f"cuerpo {i}", clock.now()))
    async with Notifier(smtp_settings(smtp_server.port)) as notifier:
        outcomes = []
        for _ in range(4):  # down: attempts at 0, 30, 90 and 210 s; back up at 510 s
            outcomes += [r.outcome for r in await deliver_due(outbox, notifier, clock)]
            clock.advance(next_wait(outbox, clock))
        smtp_server.start()
        outcomes += [r.outcome for r in await deliver_due(outbox, notifier, clock)]
        clock.advance(3600)
        assert await deliver_due(outbox, notifier, clock) == []
    assert outcomes == [Outcome.RETRY] * 20 + [Outcome.DELIVERED] * 5
    assert sorted(mail.message["Subject"] for mail in smtp_server.received) == [f"Alerta {i}" for i in range(5)]
    assert {(n.attempts, n.delivered_at, n.last_error) for n in outbox.rows.values()} == {
        (5, datetime.fromisoformat("2026-11-28T13:08:30+00:00"), None)
    }
    assert [a.outcome for a in outbox.log if a.notification_id == next(iter(outbox.rows))] == [
        Outcome.RETRY,
        Outcome.RETRY,
        Outcome.RETRY,
        Outcome.RETRY,
        Outcome.DELIVERED,
    ]


def next_wait(outbox: MemoryOutbox, clock: ManualClock) -> float:
    soonest = min(n.next_attempt_at for n in outbox.rows.values() if n.next_attempt_at is not None)
    return (soonest - clock.now()).total_seconds()


async def test_nothing_is_due_before_the_retry_time(smtp_server: SmtpServer, clock: ManualClock) -> None:
    outbox = MemoryOutbox(CHANNEL)
    outbox.add(new_notification("ana", "correo", "s", "b", clock.now()))
    async with Notifier(smtp_settings(smtp_server.port)) as notifier:
        [first] = await deliver_due(outbox, notifier, clock)
        clock.advance(29)
        assert await deliver_due(outbox, notifier, clock) == []
    assert (first.outcome, first.notification.next_attempt_at) == (Outcome.RETRY, clock.now() + timedelta(seconds=1))


async def test_a_failed_attempt_records_the_reason_and_the_retry_time(
    smtp_server: SmtpServer, clock: ManualClock
) -> None:
    notification = new_notification("ana", "correo", "s", "b", clock.now())
    async with Notifier(smtp_settings(smtp_server.port)) as notifier:
        result = await deliver(notification, CHANNEL, clock, notifier)
    reason = 'Connection error while submitting email to "127.0.0.1"'
    assert result == DeliveryResult(
        notification=notification.model_copy(
            update={"attempts": 1, "last_error": reason, "next_attempt_at": clock.now() + timedelta(seconds=30)}
        ),
        outcome=Outcome.RETRY,
        attempt=DeliveryAttempt(
            notification_id=str(notification.id), attempt=1, at=clock.now(), outcome=Outcome.RETRY, error=reason
        ),
    )


async def test_a_delivered_notification_is_never_sent_again(smtp_server: SmtpServer, clock: ManualClock) -> None:
    smtp_server.start()
    notification = new_notification("ana", "correo", "s", "b", clock.now())
    async with Notifier(smtp_settings(smtp_server.port)) as notifier:
        first = await deliver(notification, CHANNEL, clock, notifier)
        again = await deliver(first.notification, CHANNEL, clock, notifier)
    assert (first.outcome, first.notification.delivered_at) == (Outcome.DELIVERED, clock.now())
    assert (again.outcome, again.attempt, again.notification) == (Outcome.SKIPPED, None, first.notification)
    assert len(smtp_server.received) == 1


@pytest.mark.parametrize(
    ("channel", "error"),
    [
        (
            WebhookChannel(name="hook", url="https://10.0.0.1/x", secret="s3cr3t-compartido-0123456789"),
            "10.0.0.1 se resuelve a 10.0.0.1",
        ),
        (
            EmailChannel(name="correo", address="operadora@agua.example", enabled=False),
            "el canal 'correo' está desactivado",
        ),
    ],
)
async def test_a_permanent_failure_gives_up_and_keeps_the_notification(
    channel: Channel, error: str, smtp_server: SmtpServer, clock: ManualClock
) -> None:
    notification = new_notification("ana", channel.name, "s", "b", clock.now())
    async with Notifier(smtp_settings(smtp_server.port)) as notifier:
        result = await deliver(notification, channel, clock, notifier)
    assert result.outcome is Outcome.GAVE_UP
    assert (result.notification.gave_up_at, result.notification.next_attempt_at, result.notification.attempts) == (
        clock.now(),
        None,
        1,
    )
    assert error in (result.notification.last_error or "")
    assert not result.notification.due(clock.now() + timedelta(days=30))


class Stalling:
    """A sender that never answers (stands for a server that accepts and then hangs)."""

    async def send(self, channel: Channel, notification: Notification) -> None:
        await asyncio.Event().wait()


async def test_a_send_that_hangs_is_cut_off_and_retried(clock: ManualClock) -> None:
    notification = new_notification("ana", "correo", "s", "b", clock.now())
    result = await deliver(notification, CHANNEL, clock, Stalling(), timeout_s=0.05)
    assert (result.outcome, result.notification.last_error) == (Outcome.RETRY, "no answer within 0.05 s")


def test_the_probe_notification_is_due_now_and_says_which_channel(clock: ManualClock) -> None:
    probe = probe_notification("ana", "correo", clock.now())
    assert (probe.user, probe.channel, probe.subject, probe.due(clock.now())) == (
        "ana",
        "correo",
        "[Caudal] Notificación de prueba",
        True,
    )
    assert probe.body == "Prueba del canal 'correo' de ana. Si la recibe, el canal funciona."
