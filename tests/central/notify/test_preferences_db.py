"""The profile preferences as channels: notify_email / notify_sms reach people without a channel.

Through the real ingest API (flow over P1's water right for 15 minutes: one critical alert),
the outbox and a real SMTP server (aiosmtpd); SMS through the installation's Apprise URL
template, pointed at a real HTTP receiver on loopback.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import pytest

from central.notify import NotifySettings
from central.notify.outbox import warn_unconfigured_sms
from tests.central.alerts.db_support import EMAIL, World, flows
from tests.central.notify.support import SmtpServer

PHONE = "+56912345678"


def raise_flow_alert(world: World) -> None:
    """15 minutes over P1's right (12 L/s): the critical flow_above_right alert opens."""
    world.ingest(flows(world.clock.now() - timedelta(minutes=15), [15.0] * 16))
    world.deliver()


def recipients(smtp: SmtpServer) -> list[str]:
    return sorted(address for mail in smtp.received for address in mail.recipients)


@pytest.mark.parametrize(
    ("user", "profile", "channel", "expected"),
    [
        ("ana", {"notify_email": True}, None, ["ana@agua.example"]),
        ("ana", {"notify_email": False}, None, []),
        ("ana", {"notify_email": True, "email": None}, None, []),
        ("ana", {"notify_email": True}, {**EMAIL, "address": "Ana@Agua.example"}, ["Ana@Agua.example"]),
        (
            "ana",
            {"notify_email": True},
            {**EMAIL, "address": "turno@agua.example"},
            ["ana@agua.example", "turno@agua.example"],
        ),
        ("ana", {"notify_email": True}, {**EMAIL, "subscription": {"min_severity": "critical", "points": []}}, []),
        ("bob", {"notify_email": True}, None, []),
        ("admin", {"notify_email": True}, None, ["admin@agua.example"]),
    ],
    ids=[
        "profile-only",
        "preference-off",
        "no-address",
        "channel-same-address",
        "channel-other-address",
        "channel-same-address-decides",
        "cannot-see-point",
        "admin-sees-all",
    ],
)
def test_who_gets_the_alert_email(
    world: World,
    smtp: SmtpServer,
    user: str,
    profile: dict[str, Any],
    channel: dict[str, Any] | None,
    expected: list[str],
) -> None:
    world.profile(user, **profile)
    if channel is not None:
        world.add_channel(user, channel)
    raise_flow_alert(world)
    assert recipients(smtp) == expected


def test_the_profile_email_is_logged_under_the_profile_channel(world: World, smtp: SmtpServer) -> None:
    world.profile("ana", notify_email=True)
    raise_flow_alert(world)
    rows = world.rows(
        "SELECT channel_id, preference, channel_name, subject, attempts, delivered_at IS NOT NULL AS sent"
        " FROM notifications"
    )
    assert rows == [
        {
            "channel_id": None,
            "preference": "email",
            "channel_name": "perfil: correo",
            "subject": "[Caudal] Alerta crítica: P1",
            "attempts": 1,
            "sent": True,
        }
    ]


def test_an_address_removed_before_sending_is_given_up_with_the_reason(world: World, smtp: SmtpServer) -> None:
    world.profile("ana", notify_email=True)
    world.ingest(flows(world.clock.now() - timedelta(minutes=15), [15.0] * 16))
    world.profile("ana", email=None)
    world.deliver()
    rows = world.rows("SELECT gave_up_at IS NOT NULL AS gave_up, last_error FROM notifications")
    assert (rows, smtp.received) == (
        [
            {
                "gave_up": True,
                "last_error": "canal 'perfil: correo': ana ya no quiere correos de alerta o no tiene"
                " dirección de correo",
            }
        ],
        [],
    )


class SmsReceiver(BaseHTTPRequestHandler):
    """What the SMS provider would get: the path carries the recipient's number."""

    paths: list[str] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.paths.append(unquote(self.path))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def sms_provider(monkeypatch: pytest.MonkeyPatch, smtp_port: int) -> Iterator[list[str]]:
    """A real HTTP server on loopback as the SMS provider, set as CAUDAL_SMS_APPRISE_URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), SmsReceiver)
    SmsReceiver.paths = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("CAUDAL_SMS_APPRISE_URL", f"json://127.0.0.1:{server.server_port}/sms/{{phone}}")
    yield SmsReceiver.paths
    server.shutdown()
    server.server_close()


def test_notify_sms_with_a_phone_sends_through_the_installation_template(
    world: World, smtp: SmtpServer, sms_provider: list[str]
) -> None:
    world.ctx.notify_settings = NotifySettings.from_env()
    world.profile("ana", phone=PHONE, notify_sms=True)
    raise_flow_alert(world)
    assert (sms_provider, smtp.received) == ([f"/sms/{PHONE}"], [])


def test_without_a_template_nobody_gets_sms_and_nothing_is_queued(world: World, smtp: SmtpServer) -> None:
    world.profile("ana", phone=PHONE, notify_sms=True)
    raise_flow_alert(world)
    assert world.rows("SELECT COUNT(*) AS n FROM notifications") == [{"n": 0}]


def test_users_wanting_sms_without_a_template_are_warned_about_once(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.profile("ana", phone=PHONE, notify_sms=True)
    with caplog.at_level(logging.WARNING, logger="caudal.central.notify"):
        wanting = warn_unconfigured_sms(world.db, NotifySettings())
    assert (wanting, [record.getMessage() for record in caplog.records]) == (
        1,
        [
            "1 usuario(s) piden alertas por SMS en su perfil, pero CAUDAL_SMS_APPRISE_URL no está configurado: no"
            " reciben SMS (el correo y sus propios canales siguen funcionando)"
        ],
    )
