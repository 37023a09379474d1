"""The one aiohttp adapter for regulator web services and the client base every regulator's
client shares.

Network trouble never raises out of here: a timeout, a refused or dropped connection or an
unreadable body becomes a :class:`RawReply` with ``error`` set, which a regulator's
classifier turns into a retry. Requests are paced across the whole transport (the DGA's
perimeter blocks bursts), with the wait taken on the injected :class:`Clock`.
"""

from __future__ import annotations

import asyncio
import codecs
import json
from dataclasses import dataclass
from typing import Any, Self, TypedDict, Unpack

import aiohttp

from protocols.clock import Clock

MAX_BODY_TEXT = 4000
# A regulator's answer is a few hundred bytes; more than this is read no further (never held whole
# in memory) and the reply counts as unreadable.
MAX_BODY_BYTES = 1 << 20


@dataclass(frozen=True)
class RawReply:
    """What came back from one HTTP exchange; ``error`` set when nothing usable came back."""

    http_status: int | None
    body_json: Any | None
    duration_s: float
    error: str | None = None
    body_text: str = ""


class HttpTransport:
    """Owns (or borrows) an aiohttp session; paces, times out and maps errors."""

    def __init__(
        self,
        clock: Clock,
        *,
        timeout_s: float = 15.0,
        min_interval_s: float = 1.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self._clock = clock
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._timeout_s = timeout_s
        self._min_interval_s = min_interval_s
        self._session = session
        self._owns_session = session is None
        self._pace_lock = asyncio.Lock()
        self._last_start: float | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the session if this transport created it."""
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def _pace(self) -> None:
        async with self._pace_lock:
            if self._last_start is not None:
                await self._clock.sleep(self._last_start + self._min_interval_s - self._clock.monotonic())
            self._last_start = self._clock.monotonic()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        data: bytes | None = None,
        params: dict[str, str] | None = None,
    ) -> RawReply:
        """One paced HTTP exchange; never raises for network problems."""
        await self._pace()
        started = self._clock.monotonic()
        try:
            async with self._client().request(
                method, url, headers=headers, data=data, params=params, timeout=self._timeout
            ) as response:
                raw = await response.content.read(MAX_BODY_BYTES + 1)
                status = response.status
                encoding = response.charset or "utf-8"
        except TimeoutError:
            return RawReply(
                None, None, self._clock.monotonic() - started, f"tiempo de espera agotado tras {self._timeout_s:g} s"
            )
        except (aiohttp.ClientError, OSError) as exc:
            return RawReply(None, None, self._clock.monotonic() - started, f"{type(exc).__name__}: {exc}")
        duration = self._clock.monotonic() - started
        if len(raw) > MAX_BODY_BYTES:
            return RawReply(status, None, duration, f"respuesta de más de {MAX_BODY_BYTES} bytes, no se leyó")
        text = without_nul(raw.decode(_known(encoding), errors="replace"))
        return RawReply(status, _json_or_none(text), duration, None, text[:MAX_BODY_TEXT])


def without_nul(text: str) -> str:
    """``text`` with NUL characters replaced: the ledger stores replies as text and PostgreSQL
    refuses NUL in text and JSON, so a hostile reply must not be able to break the pass."""
    return text.replace("\x00", "\ufffd")


def _known(encoding: str) -> str:
    try:
        codecs.lookup(encoding)
    except LookupError:
        return "utf-8"
    return encoding


def _json_or_none(text: str) -> Any | None:
    try:
        return _clean(json.loads(text, parse_constant=_no_constant))
    except ValueError:
        return None


def _clean(value: Any) -> Any:
    """``value`` with NUL removed from every string (an escaped ``\\u0000`` decodes to one)."""
    if isinstance(value, str):
        return without_nul(value)
    if isinstance(value, list):
        return [_clean(item) for item in value]
    if isinstance(value, dict):
        return {without_nul(key): _clean(item) for key, item in value.items()}
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class HttpOptions(TypedDict, total=False):
    """How a client's own :class:`HttpTransport` times out and paces (its defaults otherwise)."""

    timeout_s: float
    min_interval_s: float
    session: aiohttp.ClientSession | None


class TransportOptions(HttpOptions, total=False):
    """A client's own transport's options, or a ``transport`` shared with other clients."""

    transport: HttpTransport | None


class RegulatorClient:
    """A client over an :class:`HttpTransport` it either creates (and closes) or borrows.

    A worker shares one transport between the clients of many works so that pacing spans them all.
    """

    def __init__(self, clock: Clock, *, transport: HttpTransport | None = None, **options: Unpack[HttpOptions]) -> None:
        self._owns_transport = transport is None
        self._transport = transport or HttpTransport(clock, **options)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the transport if this client created it (a shared one stays open)."""
        if self._owns_transport:
            await self._transport.close()
