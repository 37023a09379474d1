"""The edge's only door to aiohttp: a POST (or GET) with a bounded wait, its failures mapped to ours.

Everything above this module (the uploader) sees :class:`HttpReply` or one of the
:class:`UplinkError` subclasses, never an aiohttp or ssl type, so a change of HTTP library or
an aiohttp API change stays in this file.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Protocol

import aiohttp

DEFAULT_TIMEOUT_S = 30.0


class UplinkError(Exception):
    """The request did not produce an HTTP reply."""


class UplinkTimeout(UplinkError):
    """No complete reply within the per-request timeout."""


class UplinkUnreachable(UplinkError):
    """Refused, reset or closed before a reply: the server may or may not have stored the batch."""


class UplinkTLSError(UplinkError):
    """The server's certificate did not verify (wrong CA bundle, wrong host name, expired)."""


@dataclass(frozen=True)
class HttpReply:
    status: int
    headers: Mapping[str, str]
    body: bytes


Sent = Callable[[], object]
"""Called once a request's body has been handed to the connection (it may be called again)."""


class Transport(Protocol):
    """What the uploader needs from HTTP; :class:`HttpTransport` is the real one."""

    async def post(self, url: str, body: bytes, headers: Mapping[str, str], sent: Sent | None = None) -> HttpReply: ...

    async def close(self) -> None: ...


def ssl_context(ca_bundle: Path | None) -> ssl.SSLContext:
    """Verification always on; ``ca_bundle`` replaces the system trust store (a private CA)."""
    if ca_bundle is None:
        return ssl.create_default_context()
    try:
        return ssl.create_default_context(cafile=str(ca_bundle))
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"CA bundle {ca_bundle}: no se pueden cargar los certificados ({exc})") from None


class HttpTransport:
    """One aiohttp session, created on first use (it needs the running loop), closed by :meth:`close`."""

    def __init__(self, *, ca_bundle: Path | None = None, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self._ssl = ssl_context(ca_bundle)
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def post(self, url: str, body: bytes, headers: Mapping[str, str], sent: Sent | None = None) -> HttpReply:
        """POST ``body`` and read the whole reply, or raise an :class:`UplinkError`.

        ``sent`` is told when the body is on its way: aiohttp writes it from a task of its own,
        so a caller that then works on the loop without waiting for that held the body back
        (a backlog drain's server waited for the agent to read the next batch, issue 16)."""
        return await self._request("POST", url, headers, body, sent)

    async def get(self, url: str, headers: Mapping[str, str]) -> HttpReply:
        """GET ``url`` and read the whole reply, or raise an :class:`UplinkError`."""
        return await self._request("GET", url, headers)

    async def _request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None = None, sent: Sent | None = None
    ) -> HttpReply:
        session = self._open_session()
        try:
            async with session.request(
                method, url, data=body, headers=dict(headers), ssl=self._ssl, trace_request_ctx=sent
            ) as response:
                return HttpReply(status=response.status, headers=dict(response.headers), body=await response.read())
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise UplinkTimeout(f"{url} no respondió en {self._timeout.total:g} s") from exc
        except (aiohttp.ClientSSLError, ssl.SSLError) as exc:
            raise UplinkTLSError(f"falló TLS con {url}: {exc}") from exc
        except aiohttp.ClientConnectorError as exc:
            error = exc.os_error
            reason = os.strerror(error.errno) if error.errno else str(error) or type(error).__name__
            raise UplinkUnreachable(f"no se puede conectar a {exc.host}:{exc.port} ({reason})") from exc
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
            raise UplinkUnreachable(f"{url}: {exc or type(exc).__name__}") from exc
        except aiohttp.ClientError as exc:
            raise UplinkError(f"{url}: {exc or type(exc).__name__}") from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _open_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout, auto_decompress=True, trace_configs=[_BODY_SENT]
            )
        return self._session


async def _tell_sent(
    session: aiohttp.ClientSession, context: SimpleNamespace, params: aiohttp.TraceRequestChunkSentParams
) -> None:
    """A chunk of the body goes to the connection now: tell the request's ``sent``, if any."""
    if context.trace_request_ctx is not None:
        context.trace_request_ctx()


_BODY_SENT = aiohttp.TraceConfig()
_BODY_SENT.on_request_chunk_sent.append(_tell_sent)
