"""The one adapter for outbound notification I/O: Apprise for e-mail, SMS and the rest,
aiohttp for signed webhooks. Every failure leaves as :class:`DeliveryFailed`.

Why webhooks do not go through Apprise's ``json://``: a receiver must be able to check
the HMAC of the exact bytes, but Apprise builds the body itself and only takes fixed
headers (``+Header=value`` in the URL), so the signature cannot be computed over the
body it will send. Posting with aiohttp also lets the connection use the resolver that
checked the destination, so the address checked is the address connected to (no DNS
rebinding between check and connect), and redirects are never followed.
"""

from __future__ import annotations

import socket
from contextlib import AsyncExitStack
from types import TracebackType
from urllib.parse import quote, urlencode, urlsplit

import aiohttp
import apprise
from aiohttp.abc import AbstractResolver, ResolveResult

from central.telemetry.alerts.rules import Severity

from .destinations import check_addresses, check_url, literal_address
from .errors import ChannelInvalid, DeliveryFailed
from .models import AppriseChannel, Channel, EmailChannel, Notification, SmsChannel, WebhookChannel
from .settings import DestinationPolicy, NotifySettings, SmtpSecurity, SmtpSettings
from .webhook import headers, payload

# Apprise schemes whose host is whatever the user typed (not a fixed provider API):
# they get the same destination policy as webhooks before Apprise connects.
HOST_ADDRESSED_SCHEMES = frozenset({
    "json", "jsons", "xml", "xmls", "form", "forms", "mailto", "mailtos", "ntfy", "ntfys", "gotify", "gotifys",
    "mmost", "mmosts", "rocket", "rockets", "apprise", "apprises", "matrix", "matrixs", "ncloud", "nclouds",
    "signal", "signals", "mqtt", "mqtts", "rsyslog", "syslog", "kodi", "kodis", "xbmc", "xbmcs",
})
_NOTIFY_TYPES = {Severity.INFO: apprise.NotifyType.INFO, Severity.WARNING: apprise.NotifyType.WARNING,
                 Severity.CRITICAL: apprise.NotifyType.FAILURE}
_SMTP_MODES = {SmtpSecurity.STARTTLS: "starttls", SmtpSecurity.SSL: "ssl", SmtpSecurity.NONE: "insecure"}
_RETRYABLE_HTTP = frozenset({408, 425, 429})
_MAX_REASON = 500


class GuardedResolver(AbstractResolver):
    """Resolves like the system resolver, then refuses if ANY address breaks the policy."""

    def __init__(self, policy: DestinationPolicy) -> None:
        self._policy = policy
        self._inner = aiohttp.ThreadedResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_UNSPEC
                      ) -> list[ResolveResult]:
        try:
            results = await self._inner.resolve(host, port, family)
        except OSError as exc:
            raise DeliveryFailed(f"{host}: name does not resolve ({exc.strerror or exc})") from exc
        check_addresses(host, [r["host"] for r in results], self._policy)
        return results

    async def close(self) -> None:
        await self._inner.close()


class Notifier:
    """Sends one notification to one channel. Use as ``async with Notifier(settings) as n``."""

    def __init__(self, settings: NotifySettings) -> None:
        self._settings = settings
        self._asset = apprise.AppriseAsset(app_id="Caudal", app_desc="Caudal telemetría",
                                           app_url="https://github.com/caudal", storage_mode="memory",
                                           secure_logging=True)
        self._resolver = GuardedResolver(settings.destinations)
        self._stack = AsyncExitStack()
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Notifier:
        connector = aiohttp.TCPConnector(resolver=self._resolver, family=socket.AF_UNSPEC)
        session = aiohttp.ClientSession(connector=connector, trust_env=False)
        self._session = await self._stack.enter_async_context(session)
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        tb: TracebackType | None) -> None:
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
                url = channel.apprise_url.get_secret_value()
                await self._check_apprise_host(url)
                await self._apprise(url, notification, timeout_s=self._settings.destinations.timeout_s)

    async def check(self, channel: Channel) -> None:
        """Refuse, up front, a channel that can never deliver (for the channel API)."""
        try:
            match channel:
                case WebhookChannel():
                    host, port = check_url(channel.url, self._settings.destinations)
                    await self._resolver.resolve(host, port)
                case SmsChannel() | AppriseChannel():
                    url = channel.apprise_url.get_secret_value()
                    if apprise.Apprise.instantiate(url, asset=self._asset) is None:
                        raise DeliveryFailed("Apprise does not accept this URL (unknown scheme or missing parts)")
                    await self._check_apprise_host(url)
        except DeliveryFailed as exc:
            raise ChannelInvalid(f"channel {channel.name!r}: {exc.reason}") from exc

    async def _post_webhook(self, channel: WebhookChannel, notification: Notification) -> None:
        if self._session is None:
            raise RuntimeError("Notifier used outside 'async with'")
        policy = self._settings.destinations
        host, _ = check_url(channel.url, policy)
        body = payload(notification)
        try:
            async with self._session.post(channel.url, data=body, allow_redirects=False,
                                          headers=headers(notification, body, channel.secret.get_secret_value()),
                                          timeout=aiohttp.ClientTimeout(total=policy.timeout_s)) as response:
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryFailed(f"webhook {host}: {type(exc).__name__} {_short(str(exc))}".rstrip()) from exc
        _judge_http(host, status)

    def _smtp(self) -> SmtpSettings:
        """The operator's SMTP server: trusted, so not subject to the destination policy."""
        if self._settings.smtp is None:
            raise DeliveryFailed("e-mail is not configured (CAUDAL_SMTP_HOST is not set)")
        return self._settings.smtp

    async def _check_apprise_host(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme.lower() not in HOST_ADDRESSED_SCHEMES or not parts.hostname:
            return
        literal = literal_address(parts.hostname)
        if literal is not None:
            check_addresses(parts.hostname, [str(literal)], self._settings.destinations)
        else:
            await self._resolver.resolve(parts.hostname, parts.port or 0)

    async def _apprise(self, url: str, notification: Notification, *, timeout_s: float) -> None:
        sender = apprise.Apprise(asset=self._asset)
        if not sender.add(url):
            raise DeliveryFailed("Apprise does not accept this URL (unknown scheme or missing parts)", permanent=True)
        result = await sender.async_notify(body=notification.body, title=notification.subject,
                                           notify_type=_NOTIFY_TYPES[notification.severity],
                                           body_format=apprise.NotifyFormat.TEXT, timeout=timeout_s)
        if not result:
            raise DeliveryFailed(_apprise_reason(result))


def mailto_url(smtp: SmtpSettings, to: str) -> str:
    """The Apprise e-mail URL for our SMTP settings (credentials percent-encoded)."""
    scheme = "mailto" if smtp.security is SmtpSecurity.NONE else "mailtos"
    auth = ""
    if smtp.username:
        password = smtp.password.get_secret_value() if smtp.password else ""
        auth = f"{quote(smtp.username, safe='')}:{quote(password, safe='')}@"
    host = f"[{smtp.host}]" if ":" in smtp.host else smtp.host
    query = urlencode({"to": to, "from": smtp.from_address, "name": smtp.from_name,
                       "mode": _SMTP_MODES[smtp.security], "format": "text", "cto": f"{smtp.timeout_s:g}"})
    return f"{scheme}://{auth}{host}:{smtp.effective_port}/?{query}"


def _judge_http(host: str, status: int) -> None:
    if 200 <= status < 300:
        return
    permanent = status not in _RETRYABLE_HTTP and status < 500
    detail = "redirects are not followed" if 300 <= status < 400 else "refused by the receiver"
    raise DeliveryFailed(f"webhook {host}: HTTP {status} ({detail if permanent else 'will retry'})",
                         permanent=permanent)


def _apprise_reason(result: apprise.AppriseResult) -> str:
    messages = [entry.message for entry in result.logs() if entry.level in ("WARNING", "ERROR", "CRITICAL")]
    return _short("; ".join(dict.fromkeys(messages)) or f"Apprise: {result.status.name.lower()}")


def _short(text: str) -> str:
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"
