"""A small, real stand-in for the central ingest (``POST /api/v1/ingest``), for the edge's tests.

It implements the uplink contract in memory: bearer check, gzip, schema validation (422),
an optional batch-size limit (413), idempotent storage keyed on (point, variable, ts) with a
duplicates count, and the :class:`protocols.uplink.IngestReply`. Tests queue :class:`Fault`
items, one consumed per request, to make the next replies fail in specific ways.
"""

from __future__ import annotations

import asyncio
import gzip
import ssl
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiohttp import web
from pydantic import ValidationError

from protocols.clock import Clock, ManualClock
from protocols.uplink import INGEST_PATH, Batch, IngestReply, Reading

Key = tuple[str, str, datetime]


@dataclass(frozen=True)
class Fault:
    """How to misbehave on one request (after the bearer check)."""

    status: int | None = None  # reply with this status, storing nothing
    retry_after: str | None = None  # Retry-After header sent with ``status``
    detail: str = "fault injected by the test"
    hang_s: float | None = None  # wait this long (real seconds) before handling normally
    drop_after_store: bool = False  # store, then close the connection without replying


@dataclass(frozen=True)
class Received:
    """One request as the server saw it."""

    headers: dict[str, str]
    body: bytes
    batch: Batch | None


GATEWAY_TOKEN = "gw-norte-01-token"  # what the uploader tests' gateway sends


@dataclass
class UplinkServer:
    token: str
    max_readings: int | None = None
    clock: Clock | None = None
    faults: deque[Fault] = field(default_factory=deque)
    received: list[Received] = field(default_factory=list)
    stored: dict[Key, Reading] = field(default_factory=dict)
    duplicates: int = 0
    url: str = ""
    _runner: web.AppRunner | None = None
    _closing: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self, ssl_context: ssl.SSLContext | None = None) -> UplinkServer:
        app = web.Application()
        app.router.add_post(INGEST_PATH, self._ingest)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, auto_decompress=False)  # keep the wire bytes
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=ssl_context)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"{'https' if ssl_context else 'http'}://{host}:{port}"
        return self

    async def stop(self) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> UplinkServer:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def batches(self) -> list[Batch]:
        """Every well-formed batch received, in order (also refused and faulted ones)."""
        return [item.batch for item in self.received if item.batch is not None]

    async def _ingest(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        batch = parse(raw, request.headers.get("Content-Encoding"))
        self.received.append(Received(dict(request.headers), raw, batch if isinstance(batch, Batch) else None))
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return error_reply(401, "invalid or missing gateway token")
        fault = self.faults.popleft() if self.faults else Fault()
        if fault.status is not None:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else None
            return error_reply(fault.status, fault.detail, headers)
        if fault.hang_s is not None:
            await self._hang(fault.hang_s)
        if not isinstance(batch, Batch):
            return error_reply(422, batch)
        if self.max_readings is not None and len(batch.readings) > self.max_readings:
            return error_reply(413, f"at most {self.max_readings} readings per batch")
        reply = self._store(batch)
        if fault.drop_after_store:
            request.transport.close()
        return web.Response(body=reply.model_dump_json(), content_type="application/json")

    async def _hang(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._closing.wait(), seconds)
        except TimeoutError:
            pass

    def _store(self, batch: Batch) -> IngestReply:
        stored = 0
        for reading in batch.readings:
            key = (reading.point, reading.variable, reading.ts)
            if key in self.stored:
                self.duplicates += 1
            else:
                self.stored[key] = reading
                stored += 1
        now = self.clock.now() if self.clock else datetime.now(UTC)
        return IngestReply(stored=stored, duplicates=len(batch.readings) - stored, server_time=now)


def error_reply(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    """An error in the central server's shape (``central/errors.py``: no ``details`` here)."""
    return web.json_response(
        {"error": {"status": status, "code": f"http_{status}", "message": message}}, status=status, headers=headers
    )


def parse(raw: bytes, encoding: str | None) -> Batch | str:
    """The batch, or the reason it is not one (what the real server would put in a 422)."""
    try:
        body = gzip.decompress(raw) if encoding == "gzip" else raw
        return Batch.model_validate_json(body)
    except (OSError, EOFError) as exc:
        return f"body is not valid gzip: {exc}"
    except ValidationError as exc:
        return f"not a valid batch: {exc.errors()[0]['msg']}"


async def until(predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Wait (real time, polling) until ``predicate`` holds: lets real I/O finish between clock steps."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"condition not reached within {timeout_s} s")
        await asyncio.sleep(0.002)


async def advance(clock: ManualClock, seconds: float, step: float = 1.0) -> None:
    """Move ``clock`` forward by ``seconds`` in ``step``s, each only once every task is parked on it."""
    steps = round(seconds / step)
    for _ in range(steps):
        await until(lambda: clock.sleepers > 0)
        clock.advance(step)
    await until(lambda: clock.sleepers > 0)
