"""A TCP fault proxy between the edge agent and the central server.

It relays bytes both ways and, depending on its current :class:`Mode`, misbehaves the way
a rural uplink does. The mode is read when a request's first bytes arrive on a connection
(aiohttp keeps connections alive, so each request on a connection gets the mode current at
its start):

* ``pass``: relay as is.
* ``delay``: hold every chunk ``delay_s`` before relaying it, both ways.
* ``drop_reply``: relay the request; when the server's reply comes (so the server has
  handled, and for an ingest stored, the batch) throw it away and reset the client's
  connection. The edge sees a reset; the server has the readings.
* ``reset``: reset the client's connection as soon as the request starts (RST, not FIN).
* ``black_hole``: swallow the request and answer nothing. The held connections are reset
  when the mode changes away from ``black_hole`` (a router coming back and refusing stale
  flows), so a test does not wait out the edge's 30 s HTTP timeout; a soak's long black
  holes do reach that timeout.

The proxy runs its own event loop in a thread, so tests and the soak drive it from plain
synchronous code while subprocesses (agent, server) do the real work. Each fault it injects
is counted in :attr:`FaultProxy.counts`.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass, field
from enum import StrEnum


class Mode(StrEnum):
    PASS = "pass"
    DELAY = "delay"
    DROP_REPLY = "drop_reply"
    RESET = "reset"
    BLACK_HOLE = "black_hole"


CHUNK = 65536


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with an RST: SO_LINGER on with a zero timeout, then abort."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@dataclass(eq=False)  # hashed by identity: links are kept in a set
class _Link:
    """One client connection and its upstream connection."""

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    drop_next_reply: bool = False
    delaying: bool = False
    awaiting_reply: bool = False  # a request went out and no reply byte came back yet

    def reset_both(self) -> None:
        reset(self.client)
        self.upstream.transport.abort()


@dataclass
class FaultProxy:
    """Listens on 127.0.0.1:``port`` and relays to ``upstream_port``; see the module docstring."""

    upstream_port: int
    delay_s: float = 2.0
    port: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    _mode: Mode = Mode.PASS
    _held: set[_Link] = field(default_factory=set)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def mode(self) -> Mode:
        return self._mode

    def set_mode(self, mode: Mode) -> None:
        """Switch mode for requests starting from now; leaving ``black_hole`` resets what it held."""
        assert self._loop is not None, "proxy not started"
        previous, self._mode = self._mode, Mode(mode)
        if previous is Mode.BLACK_HOLE and mode is not Mode.BLACK_HOLE:
            asyncio.run_coroutine_threadsafe(self._release_held(), self._loop).result(5)

    def start(self) -> FaultProxy:
        started = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(started,), name="fault-proxy", daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("fault proxy did not start")
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- inside the proxy's loop -----------------------------------------------------------

    def _serve(self, started: threading.Event) -> None:
        self._loop = asyncio.new_event_loop()
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._accept, "127.0.0.1", self.port, reuse_address=True)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        started.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._end_links())
        self._loop.close()

    @staticmethod
    async def _end_links() -> None:
        """Links still relaying at stop: cancelled, and their errors read (no "never retrieved")."""
        leftover = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in leftover:
            task.cancel()
        await asyncio.gather(*leftover, return_exceptions=True)

    async def _close(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._release_held()

    async def _release_held(self) -> None:
        for link in list(self._held):
            link.reset_both()
            self.counts["black_hole_released"] += 1
        self._held.clear()

    async def _accept(self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
        self.counts["connections"] += 1
        try:
            upstream_reader, upstream = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            self.counts["upstream_refused"] += 1
            reset(client)
            return
        link = _Link(client, upstream)
        await asyncio.gather(
            self._requests(client_reader, link), self._replies(upstream_reader, link), return_exceptions=True
        )
        self._held.discard(link)
        for writer in (client, upstream):
            writer.transport.abort()

    async def _requests(self, reader: asyncio.StreamReader, link: _Link) -> None:
        """Client to server: the mode at a request's first chunk decides its fate."""
        while chunk := await reader.read(CHUNK):
            if not link.awaiting_reply and not self._begin_request(link):
                return
            if link in self._held:
                continue  # swallowed: a black-holed request
            if link.delaying:
                await asyncio.sleep(self.delay_s)
            link.upstream.write(chunk)
            await link.upstream.drain()
        link.upstream.write_eof()

    def _begin_request(self, link: _Link) -> bool:
        """Apply the current mode to a request starting on ``link``; False when it ends the link."""
        mode = self._mode
        self.counts[f"requests_{mode.value}"] += 1
        link.awaiting_reply = True
        if mode is Mode.RESET:
            link.reset_both()
            return False
        if mode is Mode.BLACK_HOLE:
            self._held.add(link)
            return True
        link.drop_next_reply = mode is Mode.DROP_REPLY
        link.delaying = mode is Mode.DELAY
        return True

    async def _replies(self, reader: asyncio.StreamReader, link: _Link) -> None:
        """Server to client: relayed, delayed, or dropped with a reset of the client."""
        while chunk := await reader.read(CHUNK):
            if link.drop_next_reply:
                self.counts["replies_dropped"] += 1
                link.reset_both()
                return
            link.awaiting_reply = False
            if link.delaying:
                await asyncio.sleep(self.delay_s)
            link.client.write(chunk)
            await link.client.drain()
        link.client.write_eof()
