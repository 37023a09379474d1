"""The demo's mail server: a real SMTP server on 127.0.0.1 that keeps what it receives.

The central server is pointed at it (``CAUDAL_SMTP_HOST``/``PORT``, security ``none``), so an
alert e-mail travels the same path it would in production and the summary can show it.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.smtp import SMTP

CLOSE_WAIT_S = 5.0


@dataclass(frozen=True)
class CapturedMail:
    """One message as the SMTP server received it."""

    sender: str
    recipients: tuple[str, ...]
    subject: str


@dataclass
class MailCapture:
    """aiosmtpd handler: parses each message's headers and keeps them."""

    port: int = 0
    received: list[CapturedMail] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        subject = str(message.get("Subject", ""))
        self.received.append(CapturedMail(envelope.mail_from, tuple(envelope.rcpt_tos), subject))
        return "250 OK"


@asynccontextmanager
async def capture_mail(host: str = "127.0.0.1") -> AsyncIterator[MailCapture]:
    """Serve SMTP on ``host`` (a free port, in ``.port``) until the block exits."""
    capture = MailCapture()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(capture, hostname="caudal-demo"), host, 0)
    capture.port = server.sockets[0].getsockname()[1]
    try:
        yield capture
    finally:
        server.close()
        with suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), CLOSE_WAIT_S)
