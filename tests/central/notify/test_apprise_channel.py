"""SMS and generic Apprise channels go through Apprise itself (json:// to a real receiver here)."""

from __future__ import annotations

import json

import pytest

from central.notify import AppriseChannel, DeliveryFailed, Notifier, NotifySettings, SmsChannel, new_notification
from central.telemetry.alerts import Severity
from protocols.clock import ManualClock

from .support import LOOPBACK_ONLY, Receiver

SETTINGS = NotifySettings(destinations=LOOPBACK_ONLY)


@pytest.mark.parametrize(
    ("kind", "severity", "apprise_type"),
    [(AppriseChannel, Severity.WARNING, "warning"), (SmsChannel, Severity.CRITICAL, "failure")],
)
async def test_an_apprise_channel_delivers_title_body_and_type(
    receiver: Receiver, clock: ManualClock, kind: type, severity: Severity, apprise_type: str
) -> None:
    channel = kind(name="chat", apprise_url=receiver.base_url.replace("http://", "json://") + "/apprise")
    notification = new_notification(
        "ana", "chat", "[Caudal] Alerta: OB-1", "Sin datos hace 45 min", clock.now(), severity=severity
    )
    async with Notifier(SETTINGS) as notifier:
        await notifier.send(channel, notification)
    [hit] = receiver.hits
    sent = json.loads(hit.body)
    assert (hit.path, sent["title"], sent["message"], sent["type"]) == (
        "/apprise",
        "[Caudal] Alerta: OB-1",
        "Sin datos hace 45 min",
        apprise_type,
    )


async def test_an_apprise_receiver_error_is_a_retryable_failure(receiver: Receiver, clock: ManualClock) -> None:
    receiver.status = 503
    channel = AppriseChannel(name="chat", apprise_url=receiver.base_url.replace("http://", "json://"))
    async with Notifier(SETTINGS) as notifier:
        with pytest.raises(DeliveryFailed) as caught:
            await notifier.send(channel, new_notification("ana", "chat", "s", "b", clock.now()))
    assert caught.value.permanent is False
    assert "503" in caught.value.reason


async def test_an_unknown_apprise_url_is_a_permanent_failure(clock: ManualClock) -> None:
    channel = AppriseChannel(name="chat", apprise_url="nosuchscheme://whatever")
    async with Notifier(SETTINGS) as notifier:
        with pytest.raises(DeliveryFailed) as caught:
            await notifier.send(channel, new_notification("ana", "chat", "s", "b", clock.now()))
    assert (caught.value.permanent, caught.value.reason) == (
        True,
        "Apprise no acepta esta URL (esquema desconocido o le faltan partes)",
    )
