"""Real parts for notification tests: an SMTP server (aiosmtpd), an HTTP receiver (aiohttp), an
in-memory outbox. The fixtures that start them are in this folder's conftest; other folders
import these classes from here."""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from ipaddress import ip_network

from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from central.notify import (
    DeliveryAttempt,
    DeliveryResult,
    DestinationPolicy,
    Notification,
    NotifySettings,
    SmtpSecurity,
    SmtpSettings,
)
from central.notify.models import Channel

LOOPBACK_ONLY = DestinationPolicy(allowed_networks=(ip_network("127.0.0.0/8"),), require_https=False, timeout_s=5)


@dataclass
class Received:
    recipients: list[str]
    sender: str
    message: EmailMessage


class CapturingHandler:
    def __init__(self) -> None:
        self.received: list[Received] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)  # type: ignore[attr-defined]
        self.received.append(Received(list(envelope.rcpt_tos), envelope.mail_from, message))  # type: ignore[attr-defined]
        return "250 OK"


class SmtpServer:
    """An aiosmtpd server on 127.0.0.1 that can be started late and stopped (an outage).

    With ``credentials`` it requires AUTH (without TLS: loopback only) and records the logins it saw.
    """

    def __init__(self, port: int, credentials: tuple[str, str] | None = None) -> None:
        self.port = port
        self.handler = CapturingHandler()
        self.credentials = credentials
        self.logins: list[tuple[str, str]] = []
        self._controller: Controller | None = None

    def _authenticate(
        self, server: object, session: object, envelope: object, mechanism: str, data: LoginPassword
    ) -> AuthResult:
        login = (data.login.decode(), data.password.decode())
        self.logins.append(login)
        return AuthResult(success=login == self.credentials)

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def start(self) -> None:
        auth = {"authenticator": self._authenticate, "auth_required": True, "auth_require_tls": False}
        self._controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, **(auth if self.credentials else {})
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def smtp_settings(port: int, **changes: object) -> NotifySettings:
    smtp = SmtpSettings(
        host="127.0.0.1", port=port, security=SmtpSecurity.NONE, from_address="alertas@caudal.example", timeout_s=5
    )
    return NotifySettings(smtp=smtp.model_copy(update=changes), destinations=LOOPBACK_ONLY)


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An HTTP receiver on 127.0.0.1; ``status`` is what it answers; ``stall`` makes it hang until teardown."""

    base_url: str = ""
    hits: list[Hit] = field(default_factory=list)
    status: int = 204
    stall: bool = False
    released: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        self.hits.append(Hit(request.path, dict(request.headers), await request.read()))
        if self.stall:
            await self.released.wait()
        headers = {"Location": "http://127.0.0.1:1/elsewhere"} if 300 <= self.status < 400 else None
        return web.Response(status=self.status, headers=headers)


class MemoryOutbox:
    """The db outbox's contract, in memory: due notifications, claimed, results recorded."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.rows: dict[str, Notification] = {}
        self.log: list[DeliveryAttempt] = []

    def add(self, notification: Notification) -> None:
        self.rows[str(notification.id)] = notification

    async def claim_due(self, now: datetime, limit: int) -> Sequence[tuple[Notification, Channel]]:
        due = sorted((n for n in self.rows.values() if n.due(now)), key=lambda n: n.created_at)
        return [(n, self.channel) for n in due[:limit]]

    async def record(self, result: DeliveryResult) -> None:
        self.rows[str(result.notification.id)] = result.notification
        if result.attempt is not None:
            self.log.append(result.attempt)


@asynccontextmanager
async def answering(handle: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> AsyncIterator[str]:
    """A real HTTP server on a free loopback port that sends every request to ``handle``; yields its URL."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()
