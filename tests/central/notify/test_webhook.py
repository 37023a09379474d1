"""Signed webhooks to a real aiohttp receiver, and how its answers are judged."""

from __future__ import annotations

import json

import pytest

from central.notify import (
    DeliveryFailed,
    Notifier,
    NotifySettings,
    WebhookChannel,
    new_notification,
    signature,
    verify,
)
from central.notify.models import Notification
from central.telemetry.alerts import Severity
from protocols.clock import ManualClock

from .support import LOOPBACK_ONLY, Receiver

SECRET = "s3cr3t-compartido-0123456789"
SETTINGS = NotifySettings(destinations=LOOPBACK_ONLY)


def hook(receiver: Receiver, path: str = "/caudal") -> WebhookChannel:
    return WebhookChannel(name="sistema-scada", url=f"{receiver.base_url}{path}", secret=SECRET)


def notification(clock: ManualClock) -> Notification:
    return new_notification(
        "ana",
        "sistema-scada",
        "[Caudal] Alerta crítica: OB-0601-444",
        "Caudal 15.2 L/s",
        clock.now(),
        severity=Severity.CRITICAL,
    )


async def test_the_webhook_body_is_signed_with_hmac_sha256(receiver: Receiver, clock: ManualClock) -> None:
    sent = notification(clock)
    async with Notifier(SETTINGS) as notifier:
        await notifier.send(hook(receiver), sent)
    [hit] = receiver.hits
    assert verify(hit.body, SECRET, hit.headers["X-Caudal-Signature"])
    assert not verify(hit.body, "otro-secreto-0123456789", hit.headers["X-Caudal-Signature"])
    assert (hit.path, hit.headers["X-Caudal-Delivery"], hit.headers["Content-Type"]) == (
        "/caudal",
        str(sent.id),
        "application/json",
    )
    assert json.loads(hit.body) == {
        "id": str(sent.id),
        "event": "notification",
        "user": "ana",
        "subject": "[Caudal] Alerta crítica: OB-0601-444",
        "body": "Caudal 15.2 L/s",
        "severity": "critical",
        "alert_id": None,
        "created_at": "2026-11-28T13:00:00Z",
    }


def test_the_signature_is_the_hex_hmac_of_the_exact_body() -> None:
    # RFC 4231 test case 2 ("Jefe" / "what do ya want for nothing?")
    assert signature(b"what do ya want for nothing?", "Jefe") == (
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


@pytest.mark.parametrize(
    ("status", "permanent", "reason"),
    [
        (500, False, "HTTP 500 (se reintentará)"),
        (503, False, "HTTP 503 (se reintentará)"),
        (429, False, "HTTP 429 (se reintentará)"),
        (400, True, "HTTP 400 (rechazado por el receptor)"),
        (401, True, "HTTP 401 (rechazado por el receptor)"),
        (302, True, "HTTP 302 (no se siguen redirecciones)"),
    ],
)
async def test_receiver_answers_map_to_retry_or_give_up(
    receiver: Receiver, clock: ManualClock, status: int, permanent: bool, reason: str
) -> None:
    receiver.status = status
    async with Notifier(SETTINGS) as notifier:
        with pytest.raises(DeliveryFailed) as caught:
            await notifier.send(hook(receiver), notification(clock))
    assert (caught.value.permanent, caught.value.reason) == (permanent, f"webhook 127.0.0.1: {reason}")
    assert len(receiver.hits) == 1  # the redirect was not followed


async def test_a_closed_port_is_a_retryable_failure(port: int, clock: ManualClock) -> None:
    channel = WebhookChannel(name="x", url=f"http://127.0.0.1:{port}/", secret=SECRET)
    async with Notifier(SETTINGS) as notifier:
        with pytest.raises(DeliveryFailed) as caught:
            await notifier.send(channel, notification(clock))
    assert caught.value.permanent is False
    assert caught.value.reason.startswith("webhook 127.0.0.1: ClientConnectorError")


async def test_a_stalled_receiver_times_out_as_a_retryable_failure(receiver: Receiver, clock: ManualClock) -> None:
    receiver.stall = True
    settings = NotifySettings(destinations=LOOPBACK_ONLY.model_copy(update={"timeout_s": 0.2}))
    async with Notifier(settings) as notifier:
        with pytest.raises(DeliveryFailed) as caught:
            await notifier.send(hook(receiver), notification(clock))
    assert (caught.value.permanent, caught.value.reason) == (False, "webhook 127.0.0.1: TimeoutError")


async def test_the_secret_never_appears_in_a_failure_reason(receiver: Receiver, clock: ManualClock) -> None:
    receiver.status = 500
    async with Notifier(SETTINGS) as notifier:
        with pytest.raises(DeliveryFailed) as caught:
            await notifier.send(hook(receiver, path=f"/h?token={SECRET}"), notification(clock))
    assert SECRET not in caught.value.reason
