"""The one adapter for outbound notification I/O: Apprise for e-mail, SMS and the rest,
aiohttp for signed webhooks. Every failure leaves as :class:`DeliveryFailed`.

Why webhooks do not go through Apprise's ``json://``: a receiver must be able to check
the HMAC of the exact bytes, but Apprise builds the body itself and only takes fixed
headers (``+Header=value`` in the URL), so the signature cannot be computed over the
body it will send. Posting with aiohttp also lets the connection use the resolver that
checked the destination, so the address checked is the address connected to (no DNS
rebinding between check and connect), and redirects are never followed.

Apprise channels (user-defined, and SMS) run under the socket guard of :mod:`.guard`: every
connection the plugin makes, whatever the scheme, is checked against the same destination
policy as webhooks when it is made (redirects and DNS changes included). The operator's own
SMTP server is trusted and not guarded.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Coroutine
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import apprise
from aiohttp.abc import AbstractResolver, ResolveResult

from central.telemetry.alerts.rules import Severity

from .destinations import check_addresses, check_url, literal_address
from .errors import ChannelInvalid, DeliveryFailed, DestinationRefused
from .guard import UNCHECKED_SCHEMES, watching
from .models import (
    AppriseChannel,
    Channel,
    EmailChannel,
    Notification,
    SmsChannel,
    WebhookChannel,
)
from .settings import DestinationPolicy, NotifySettings, SmtpSecurity, SmtpSettings
from .webhook import headers, payload

_NOTIFY_TYPES = {
    Severity.INFO: apprise.NotifyType.INFO,
    Severity.WARNING: apprise.NotifyType.WARNING,
    Severity.CRITICAL: apprise.NotifyType.FAILURE,
}
_SMTP_MODES = {SmtpSecurity.STARTTLS: "starttls", SmtpSecurity.SSL: "ssl", SmtpSecurity.NONE: "insecure"}
_RETRYABLE_HTTP = frozenset({408, 425, 429})
_MAX_REASON = 500
_UNKNOWN_URL = "Apprise no acepta esta URL (esquema desconocido o le faltan partes)"


class GuardedResolver(AbstractResolver):
    """Resolves like the system resolver, then refuses if ANY address breaks the policy."""

    def __init__(self, policy: DestinationPolicy) -> None:
        self._policy = policy
        self._inner = aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> list[ResolveResult]:
        try:
            results = await self._inner.resolve(host, port, family)
        except OSError as exc:
            raise DeliveryFailed(f"{host}: el nombre no se resuelve ({exc.strerror or exc})") from exc
        check_addresses(host, [r["host"] for r in results], self._policy)
        return results

    async def close(self) -> None:
        await self._inner.close()


class Notifier:
    """Sends one notification to one channel. Use as ``async with Notifier(settings) as n``."""

    def __init__(self, settings: NotifySettings) -> None:
        self._settings = settings
        self._asset = apprise.AppriseAsset(
            app_id="Caudal",
            app_desc="Caudal telemetría",
            app_url="https://github.com/caudal",
            storage_mode="memory",
            secure_logging=True,
        )
        self._resolver = GuardedResolver(settings.destinations)
        self._stack = AsyncExitStack()
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Notifier:
        connector = aiohttp.TCPConnector(resolver=self._resolver, family=socket.AF_UNSPEC)
        session = aiohttp.ClientSession(connector=connector, trust_env=False)
        self._session = await self._stack.enter_async_context(session)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._session = None
        await self._stack.aclose()

    async def send(self, channel: Channel, notification: Notification) -> None:
        """Deliver or raise :class:`DeliveryFailed` (``permanent`` when retrying cannot help)."""
        match channel:
            case WebhookChannel():
                await self._post_webhook(channel, notification)
            case EmailChannel():
                smtp = self._smtp()
                await self._apprise(mailto_url(smtp, channel.address), notification, timeout_s=2 * smtp.timeout_s)
            case SmsChannel() | AppriseChannel():
                await self._guarded_apprise(channel.apprise_url.get_secret_value(), notification)

    async def check(self, channel: Channel) -> None:
        """Refuse, up front, a channel that can never deliver (for the channel API)."""
        try:
            match channel:
                case WebhookChannel():
                    host, port = check_url(channel.url, self._settings.destinations)
                    await self._resolver.resolve(host, port)
                case SmsChannel() | AppriseChannel():
                    await self._probe_apprise(channel.apprise_url.get_secret_value())
        except DeliveryFailed as exc:
            raise ChannelInvalid(f"canal {channel.name!r}: {exc.reason}") from exc

    async def _post_webhook(self, channel: WebhookChannel, notification: Notification) -> None:
        if self._session is None:
            raise RuntimeError("Notifier used outside 'async with'")
        policy = self._settings.destinations
        host, _ = check_url(channel.url, policy)
        body = payload(notification)
        try:
            async with self._session.post(
                channel.url,
                data=body,
                allow_redirects=False,
                headers=headers(notification, body, channel.secret.get_secret_value()),
                timeout=aiohttp.ClientTimeout(total=policy.timeout_s),
            ) as response:
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryFailed(f"webhook {host}: {type(exc).__name__} {_short(str(exc))}".rstrip()) from exc
        _judge_http(host, status)

    def _smtp(self) -> SmtpSettings:
        """The operator's SMTP server: trusted, so not subject to the destination policy."""
        if self._settings.smtp is None:
            raise DeliveryFailed("el correo no está configurado (falta CAUDAL_SMTP_HOST)")
        return self._settings.smtp

    def _checkable(self, url: str) -> bool:
        """Whether the socket guard can follow this URL's scheme; refuse it if not, unless allowed by name."""
        plugin = apprise.Apprise.instantiate(url, asset=self._asset)
        if plugin is None:
            raise DeliveryFailed(_UNKNOWN_URL, permanent=True)
        scheme = str(plugin.schema).lower()
        checkable = scheme not in UNCHECKED_SCHEMES and type(plugin).category == "native"
        if not checkable and scheme not in self._settings.destinations.allowed_apprise_schemes:
            raise DestinationRefused(
                f"esquema de Apprise {scheme!r}: no se puede comprobar adónde se conecta según la"
                " política de destinos (un administrador puede permitirlo por nombre en"
                " CAUDAL_NOTIFY_ALLOWED_APPRISE_SCHEMES)"
            )
        return checkable

    async def _guarded_apprise(self, url: str, notification: Notification) -> None:
        """Deliver through Apprise with every connection checked as it is made."""
        self._checkable(url)
        with watching(self._settings.destinations) as watch:
            result = await self._notify(
                url,
                notification.subject,
                notification.body,
                notification.severity,
                timeout_s=self._settings.destinations.timeout_s,
            )
        if watch.refused:
            raise DestinationRefused(_short("; ".join(dict.fromkeys(watch.refused))))
        if not result:
            raise DeliveryFailed(_apprise_reason(result))

    async def _probe_apprise(self, url: str) -> None:
        """Judge, before anything is sent, where the plugin would connect. A name that does not
        resolve now is not refused here (it may resolve later); the guard checks every connection
        again on each delivery."""
        if not self._checkable(url):
            return
        policy = self._settings.destinations
        for host, port in await self.apprise_destinations(url):
            literal = literal_address(host)
            if literal is not None:
                check_addresses(host, [str(literal)], policy)
                continue
            try:
                await self._resolver.resolve(host, port)
            except DestinationRefused:
                raise
            except DeliveryFailed:
                continue

    async def apprise_destinations(self, url: str) -> list[tuple[str, int]]:
        """Where Apprise would connect first for ``url`` (host, port), found by running the plugin
        with every lookup and connection refused: nothing is sent. The first destination is
        enough (Apprise spaces a plugin's later requests seconds apart)."""
        policy = self._settings.destinations
        loop, noted = asyncio.get_running_loop(), asyncio.Event()
        with watching(policy, probe=True, noted=lambda: loop.call_soon_threadsafe(noted.set)) as watch:
            await _first_of(
                self._notify(url, "Caudal", "prueba", Severity.INFO, timeout_s=policy.timeout_s),
                noted.wait(),
                timeout_s=policy.timeout_s,
            )
        if watch.refused:
            raise DestinationRefused(_short("; ".join(dict.fromkeys(watch.refused))))
        return list(dict.fromkeys(watch.wanted))

    async def _apprise(self, url: str, notification: Notification, *, timeout_s: float) -> None:
        result = await self._notify(
            url, notification.subject, notification.body, notification.severity, timeout_s=timeout_s
        )
        if not result:
            raise DeliveryFailed(_apprise_reason(result))

    async def _notify(
        self, url: str, title: str, body: str, severity: Severity, *, timeout_s: float
    ) -> apprise.AppriseResult:
        sender = apprise.Apprise(asset=self._asset)
        if not sender.add(url):
            raise DeliveryFailed(_UNKNOWN_URL, permanent=True)
        return await sender.async_notify(
            body=body,
            title=title,
            notify_type=_NOTIFY_TYPES[severity],
            body_format=apprise.NotifyFormat.TEXT,
            timeout=timeout_s,
        )


async def _first_of(*waits: Coroutine[Any, Any, Any], timeout_s: float) -> None:
    """Wait until the first of ``waits`` finishes (or ``timeout_s``); the others are cancelled."""
    tasks = [asyncio.ensure_future(wait) for wait in waits]
    try:
        done, _ = await asyncio.wait(tasks, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def mailto_url(smtp: SmtpSettings, to: str) -> str:
    """The Apprise e-mail URL for our SMTP settings (credentials percent-encoded)."""
    scheme = "mailto" if smtp.security is SmtpSecurity.NONE else "mailtos"
    auth = ""
    if smtp.username:
        password = smtp.password.get_secret_value() if smtp.password else ""
        auth = f"{quote(smtp.username, safe='')}:{quote(password, safe='')}@"
    host = f"[{smtp.host}]" if ":" in smtp.host else smtp.host
    query = urlencode(
        {
            "to": to,
            "from": smtp.from_address,
            "name": smtp.from_name,
            "mode": _SMTP_MODES[smtp.security],
            "format": "text",
            "cto": f"{smtp.timeout_s:g}",
        }
    )
    return f"{scheme}://{auth}{host}:{smtp.effective_port}/?{query}"


def _judge_http(host: str, status: int) -> None:
    if 200 <= status < 300:
        return
    permanent = status not in _RETRYABLE_HTTP and status < 500
    detail = "no se siguen redirecciones" if 300 <= status < 400 else "rechazado por el receptor"
    raise DeliveryFailed(
        f"webhook {host}: HTTP {status} ({detail if permanent else 'se reintentará'})", permanent=permanent
    )


def _apprise_reason(result: apprise.AppriseResult) -> str:
    messages = [entry.message for entry in result.logs() if entry.level in ("WARNING", "ERROR", "CRITICAL")]
    return _short("; ".join(dict.fromkeys(messages)) or f"Apprise: {result.status.name.lower()}")


def _short(text: str) -> str:
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"
