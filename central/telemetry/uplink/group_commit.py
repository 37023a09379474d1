"""The uploads that arrive while a group is being stored form the next group.

:class:`GroupCommit` hands :func:`central.telemetry.ingest_group.ingest_group` every upload
waiting when the last group is done: under a fleet's load a group holds the batches that
arrived during the last one's transaction, and a lone batch is stored at once, without
waiting for company (no timer). As many groups are stored at once as ingest has slots
(``CAUDAL_INGEST_CONCURRENCY``), each in a slot's thread: a batch that finds every slot busy
waits for the first one free, with the others that came meanwhile, and pays a share of one
thread hop and one transaction instead of its own.

Two uploads of one gateway never share a group: in one transaction the second would read
the gateway's state (its totalizer's last count) without the first's rows, and a resend
sent twice would fail the group's INSERT for all of its members.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

import anyio.to_thread

from central.telemetry.ingest import IngestResult
from central.telemetry.ingest_group import Outcome, Upload

MAX_GROUP = 64
"""At most this many uploads in one transaction: a fleet's burst is split, so one group's
rows stay a bounded INSERT (64 batches of 30 readings and their water-table rows)."""

StoreGroup = Callable[[list[Upload]], list[Outcome]]
_Waiting = tuple[str, Upload, "asyncio.Future[IngestResult]"]  # key, upload, its request's answer


class GroupCommit:
    """Queues uploads and stores them in groups, as many at once as ``limiter`` has threads.

    ``key`` is what two uploads of one gateway share (the token): such uploads go in
    different groups, the later one in a later group (with several slots, the two groups may
    be stored at the same time, as two lone batches were before groups)."""

    def __init__(self, store: StoreGroup, limiter: anyio.CapacityLimiter, max_group: int = MAX_GROUP) -> None:
        self._store = store
        self._limiter = limiter
        self._max_group = max_group
        self._waiting: deque[_Waiting] = deque()
        self._storing: set[asyncio.Task[None]] = set()

    @property
    def waiting(self) -> int:
        """Uploads waiting for a group (all the slots are storing one)."""
        return len(self._waiting)

    async def ingest(self, key: str, upload: Upload) -> IngestResult:
        """The upload's result once its group has committed (or what storing it raised)."""
        future: asyncio.Future[IngestResult] = asyncio.get_running_loop().create_future()
        self._waiting.append((key, upload, future))
        if len(self._storing) < self._limiter.total_tokens:  # a free slot: a group starts now
            task = asyncio.create_task(self._store_waiting())
            self._storing.add(task)
            task.add_done_callback(self._storing.discard)
        return await future

    async def _store_waiting(self) -> None:
        """One slot's work: a group of what is waiting, then the next, until nothing waits."""
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
