"""The last upload at shutdown: the final poll cycle's readings leave before the agent does.

Without it, the readings of the cycle that finished while the agent was stopping wait in
the buffer until the next start, which after a decommissioning may be never. The flush is
bounded in real time (it bounds real I/O) and ends at the first failed attempt: a server
that is down will not come back within seconds, and a stop must never hang on the uplink.
Whatever is not acknowledged stays in the buffer, with its original timestamps.

A request the uploader has in flight when the stop comes is let finish (within the bound)
rather than cut: the server may already have stored it, and cutting it would send the same
readings twice. :class:`TrackedTransport` is what tells the flush that the uplink is idle.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from edge.http import HttpReply, Sent, Transport
from edge.links import SHUTDOWN_WAIT_S
from edge.uploader import Uploader, UploadFailed
from protocols.tasks import bounded

log = logging.getLogger(__name__)

FLUSH_S = 5.0


class TrackedTransport:
    """The uploader's HTTP transport, plus a way to wait for the request in flight to end."""

    def __init__(self, inner: Transport) -> None:
        self._inner = inner
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def busy(self) -> bool:
        return not self._idle.is_set()

    async def post(self, url: str, body: bytes, headers: Mapping[str, str], sent: Sent | None = None) -> HttpReply:
        self._idle.clear()
        try:
            return await self._inner.post(url, body, headers, sent)
        finally:
            self._idle.set()

    async def idle(self) -> None:
        """Return once no request is in flight (checked after every wake: a new one may have begun)."""
        while self.busy:
            await self._idle.wait()

    async def close(self) -> None:
        await self._inner.close()


async def final_flush(
    uploader: Uploader, transport: TrackedTransport, running: asyncio.Task[None], stop: asyncio.Event, seconds: float
) -> None:
    """Stop the uploader's loop (``running``, ended by ``stop``), sending what is pending for at most
    ``seconds`` first (0: no flush); then close the transport."""
    try:
        if seconds > 0:
            await _flush(uploader, transport, running, stop, seconds)
    finally:
        stop.set()
        await bounded([running], SHUTDOWN_WAIT_S, log)
        await transport.close()


async def _flush(
    uploader: Uploader, transport: TrackedTransport, running: asyncio.Task[None], stop: asyncio.Event, seconds: float
) -> None:
    try:
        async with asyncio.timeout(seconds):
            await transport.idle()
            stop.set()
            await asyncio.wait({running})
            sent = await _send_pending(uploader)
    except TimeoutError:
        log.warning(
            "detención: la subida final no terminó en %g s; %d lecturas quedan en el buffer",
            seconds,
            uploader.buffer.stats().depth,
        )
    except UploadFailed as exc:
        log.warning(
            "detención: falló la subida final (%s); %d lecturas quedan en el buffer para el próximo arranque",
            exc,
            uploader.buffer.stats().depth,
        )
    except Exception:  # a broken buffer must not keep the links open or the process alive
        log.exception("detención: falló la subida final")
    else:
        if sent:
            log.info("detención: subida final de %d lecturas aceptada", sent)


async def _send_pending(uploader: Uploader) -> int:
    sent = 0
    while uploader.has_sendable():
        sent += await uploader.upload_once()
    return sent
