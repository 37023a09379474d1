"""One actor per physical link: the only owner of its serial port or TCP connection.

Field-notes items 1-3 and 12: several slaves share one RS-485 pair, so transactions go
strictly one at a time through a per-bus queue, with silence between them (``pause_ms``) and
after connecting (``connect_pause_ms``). A silent device costs its own timeout and nothing
more; the link is closed only when the link itself failed, and is then reopened with a
capped exponential backoff (a re-plugged USB adapter comes back as the same by-id path).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from edge.backoff import backoff_s
from edge.config import BusConfig
from edge.modbus import DeviceTimeout, LinkDown, ModbusError, ModbusLink
from protocols.clock import Clock
from protocols.registers import ReadBlock

log = logging.getLogger(__name__)

RECONNECT_INITIAL_S = 1.0
RECONNECT_MAX_S = 60.0
TCP_SILENCE_LIMIT = 10  # unanswered requests in a row, with no reply at all, before a TCP link is reopened


@dataclass(frozen=True)
class BlockResult:
    """The answer to one read request: words, or the error that replaced them, and when."""

    block: ReadBlock
    ts: datetime
    words: list[int] | None = None
    error: ModbusError | None = None


@dataclass
class _Job:
    unit_id: int
    blocks: Sequence[ReadBlock]
    timeout_s: float
    done: asyncio.Future[list[BlockResult]] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class BusActor:
    """Serves device reads on one link, one transaction at a time, in arrival order."""

    def __init__(self, config: BusConfig, clock: Clock, link_factory: Callable[[BusConfig], ModbusLink] = ModbusLink):
        self.config = config
        self.clock = clock
        self._link = link_factory(config)
        self._queue: asyncio.Queue[_Job | None] = asyncio.Queue()  # None: look at stop again
        self._last_transaction = float("-inf")
        self._open_failures = 0
        self._reopen_at = float("-inf")
        self._unanswered = 0
        self.transactions = 0
        self.reconnects = 0

    @property
    def name(self) -> str:
        return self.config.name

    def submit(self, unit_id: int, blocks: Sequence[ReadBlock], timeout_s: float) -> asyncio.Future[list[BlockResult]]:
        """Queue the reads of one device; the future gets their results (errors included, never
        raised). A tick queues all its devices at once and needs no task per device to wait on
        them; cancelling the future before the actor reaches the job skips it."""
        job = _Job(unit_id, blocks, timeout_s)
        self._queue.put_nowait(job)
        return job.done

    async def run(self, stop: asyncio.Event) -> None:
        """Serve the queue until ``stop`` is set and nothing is left to serve; then close the link."""
        watcher = asyncio.create_task(self._wake_on(stop))
        try:
            while not (stop.is_set() and self._queue.empty()):
                job = await self._queue.get()
                if job is None or job.done.done():
                    continue
                results = await self._serve(job)
                if not job.done.done():
                    job.done.set_result(results)
        finally:
            watcher.cancel()
            self._link.close()

    async def _wake_on(self, stop: asyncio.Event) -> None:
        """Wake the loop waiting for a job when ``stop`` is set: one task for the actor's life,
        where racing the queue against ``stop`` at every wait cost two tasks per job."""
        await stop.wait()
        self._queue.put_nowait(None)

    async def _serve(self, job: _Job) -> list[BlockResult]:
        results: list[BlockResult] = []
        for block in job.blocks:
            failure = _skip_reason(results)
            if failure is None:
                results.append(await self._transaction(job, block))
            else:
                results.append(BlockResult(block, self.clock.now(), error=failure))
        return results

    async def _transaction(self, job: _Job, block: ReadBlock) -> BlockResult:
        if not self._link.connected and self.clock.monotonic() < self._reopen_at:
            down = LinkDown(f"{self.config.endpoint} está caído; se espera para reabrirlo")
            return BlockResult(block, self.clock.now(), error=down)
        try:
            await self._ensure_open()
            await self._pause(self.config.pause_ms / 1000)
            self.transactions += 1
            words = await self._link.read(block.table, block.address, block.count, job.unit_id, job.timeout_s)
        except LinkDown as exc:
            self._link_failed(exc)
            return BlockResult(block, self.clock.now(), error=exc)
        except DeviceTimeout as exc:
            self._silent_reply(exc)
            return BlockResult(block, self.clock.now(), error=exc)
        except ModbusError as exc:
            return BlockResult(block, self.clock.now(), error=exc)
        finally:
            self._last_transaction = self.clock.monotonic()
        self._unanswered = 0
        return BlockResult(block, self.clock.now(), words=words)

    def _silent_reply(self, exc: DeviceTimeout) -> None:
        """Every device behind a TCP endpoint silent: the connection is likely stale (a hung bridge).

        Serial ports are exempt: silence on RS-485 says nothing about the port, and closing it
        would cost every other slave its poll (docs/meters.md §2).
        """
        self._unanswered += 1
        if not self.config.is_serial and self._unanswered >= TCP_SILENCE_LIMIT:
            self._unanswered = 0
            self._link_failed(LinkDown(f"{TCP_SILENCE_LIMIT} consultas seguidas sin respuesta ({exc})"))

    async def _ensure_open(self) -> None:
        if self._link.connected:
            return
        await self._link.connect()
        if self._open_failures:
            log.info("bus %s: %s reabierto", self.name, self.config.endpoint)
            self.reconnects += 1
        self._open_failures = 0
        await self.clock.sleep(self.config.connect_pause_ms / 1000)

    def _link_failed(self, exc: LinkDown) -> None:
        self._link.close()
        self._open_failures += 1
        delay = backoff_s(self._open_failures, RECONNECT_INITIAL_S, RECONNECT_MAX_S)
        self._reopen_at = self.clock.monotonic() + delay
        log.warning("bus %s: enlace caído (%s); se reabre en %g s", self.name, exc, delay)

    async def _pause(self, seconds: float) -> None:
        """Keep ``seconds`` of silence on the wire since the previous transaction ended
        (no trip through the event loop when that silence has already passed)."""
        wait = self._last_transaction + seconds - self.clock.monotonic()
        if wait > 0:
            await self.clock.sleep(wait)


def _skip_reason(results: list[BlockResult]) -> ModbusError | None:
    """After a timeout or a dead link the device's remaining blocks are not tried: it would cost time."""
    for result in results:
        if isinstance(result.error, (DeviceTimeout, LinkDown)):
            return result.error
    return None
