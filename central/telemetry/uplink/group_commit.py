"""The uploads that arrive while a group is being stored form the next group.

:class:`GroupCommit` hands :func:`central.telemetry.ingest_group.ingest_group` every upload
waiting when the last group is done: under a fleet's load a group holds the batches that
arrived during the last one's transaction, and a batch that finds no group being stored is
stored at once, without waiting for company. One group is stored at a time, in one of
ingest's slots (``CAUDAL_INGEST_CONCURRENCY``), so that the fleet's batches meet in groups
even when it sends fewer than the slots could take: with a group per free slot, nearly every
batch found a slot of its own and paid a transaction alone. Side by side, one group at a time
cost 0.78 of the server's CPU per batch at saturation and 0.96 at the fleet's rate, with
the same batches/s and p99 (``benchmarks/RESULTS.md``, "Figures cited by the code").

A group that takes long (a row lock, a slow disk) must not hold the whole fleet: an upload
that has waited ``relief_s`` behind it starts another group in a free slot, so a stuck group
costs the others that wait at most ``relief_s``, as many at once as ingest has slots. A
backlog's large body never rides a group (``central.telemetry.uplink.api``): it takes a slot
of its own, and the groups wait for a slot only when backlogs hold all of them.

Two uploads of one gateway never share a group: in one transaction the second would read
the gateway's state (its totalizer's last count) without the first's rows, and a resend
sent twice would fail the group's INSERT for all of its members.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

import anyio.to_thread

from central.telemetry.ingest import IngestResult
from central.telemetry.ingest_group import Outcome, Upload
from protocols.clock import Clock

MAX_GROUP = 64
"""At most this many uploads in one transaction: a fleet's burst is split, so one group's
rows stay a bounded INSERT (64 batches of 30 readings and their water-table rows)."""

RELIEF_S = 0.02
"""How long an upload waits behind the groups being stored before it starts one of its own
in a free slot: about ten times a group's usual time at a fleet's rate, so it rarely fires
except behind a group that is stuck."""

StoreGroup = Callable[[list[Upload]], list[Outcome]]
_Waiting = tuple[str, Upload, "asyncio.Future[IngestResult]"]  # key, upload, its request's answer


class GroupCommit:
    """Queues uploads and stores them in groups, one group at a time but for the relief above,
    each in a thread of ``limiter``.

    ``key`` is what two uploads of one gateway share (the token): such uploads go in
    different groups, the later one in a later group."""

    def __init__(
        self,
        store: StoreGroup,
        limiter: anyio.CapacityLimiter,
        clock: Clock,
        max_group: int = MAX_GROUP,
        relief_s: float = RELIEF_S,
    ) -> None:
        self._store = store
        self._limiter = limiter
        self._clock = clock
        self._max_group = max_group
        self._relief_s = relief_s
        self._waiting: deque[_Waiting] = deque()
        self._storing = 0  # groups being stored, or about to be: a done task may still be in _tasks
        self._tasks: set[asyncio.Task[None]] = set()  # held until done, as asyncio asks

    @property
    def waiting(self) -> int:
        """Uploads waiting for a group (one is being stored, or every slot is busy)."""
        return len(self._waiting)

    @property
    def storing(self) -> int:
        """Groups being stored (or waiting for a slot) now."""
        return self._storing

    async def ingest(self, key: str, upload: Upload) -> IngestResult:
        """The upload's result once its group has committed (or what storing it raised)."""
        future: asyncio.Future[IngestResult] = asyncio.get_running_loop().create_future()
        self._waiting.append((key, upload, future))
        if not self._storing:
            self._start_group()
        elif len(self._waiting) == 1:  # the first to wait behind the groups being stored
            self._start(self._relieve(future))
        return await future

    def _start_group(self) -> None:
        self._storing += 1
        self._start(self._store_waiting())

    def _start(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _relieve(self, first: asyncio.Future[IngestResult]) -> None:
        """After ``relief_s``, if ``first`` still waits and a slot is free, a group starts for it."""
        await self._clock.sleep(self._relief_s)
        still_waiting = any(future is first for _, _, future in self._waiting)
        if still_waiting and self._storing < self._limiter.total_tokens:
            self._start_group()

    async def _store_waiting(self) -> None:
        """One slot's work: a group of what is waiting, then the next, until nothing waits."""
        try:
            await self._store_groups()
        finally:
            self._storing -= 1

    async def _store_groups(self) -> None:
        while self._waiting:
            group = self._next_group()
            try:
                outcomes = await anyio.to_thread.run_sync(
                    self._store, [upload for _, upload, _ in group], limiter=self._limiter
                )
            except Exception as failed:  # the database's answer to every upload of the group
                outcomes = [failed] * len(group)
            except BaseException:  # cancelled (the server stops): no request waits for ever
                for _, _, future in (*group, *self._waiting):
                    future.cancel()
                self._waiting.clear()
                raise
            for (_, _, future), outcome in zip(group, outcomes, strict=True):
                _settle(future, outcome)

    def _next_group(self) -> list[_Waiting]:
        """The waiting uploads in order, up to ``max_group``, one per key; the rest wait on."""
        group: list[_Waiting] = []
        later: deque[_Waiting] = deque()
        keys: set[str] = set()
        while self._waiting and len(group) < self._max_group:
            item = self._waiting.popleft()
            if item[0] in keys:
                later.append(item)
            else:
                keys.add(item[0])
                group.append(item)
        self._waiting.extendleft(reversed(later))
        return group


def _settle(future: asyncio.Future[IngestResult], outcome: Outcome) -> None:
    if future.done():  # its request went away (the client hung up): the batch is stored all the same
        return
    if isinstance(outcome, Exception):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
