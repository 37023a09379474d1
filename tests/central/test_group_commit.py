"""Which uploads form a group (:class:`central.telemetry.uplink.group_commit.GroupCommit`).

The store here records the groups it is given and answers each upload with its body; a
group can be held at its start (``gate``) so the test knows it is being stored without
sleeping, and the relief's wait runs on a :class:`ManualClock`. What a group does in the
database is ``test_ingest_group_db.py``'s.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from typing import NamedTuple

import anyio
import pytest

from central.telemetry.ingest import IngestResult
from central.telemetry.ingest_group import Outcome, Upload
from central.telemetry.uplink.group_commit import RELIEF_S, GroupCommit
from protocols.clock import ManualClock

NOW = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)
WAIT_S = 10.0


class Store:
    """Records each group's bodies; the first ``held`` groups wait at ``gate`` once started."""

    def __init__(self, held: int = 0, fail: Exception | None = None) -> None:
        self.groups: list[list[bytes]] = []
        self.started = threading.Semaphore(0)
        self.gate = threading.Event()
        self._held = held
        self._fail = fail

    def __call__(self, uploads: list[Upload]) -> list[Outcome]:
        self.groups.append([upload.body for upload in uploads])
        self.started.release()
        if len(self.groups) <= self._held:
            assert self.gate.wait(WAIT_S), "the test never opened the gate"
        if self._fail is not None:
            raise self._fail
        return [IngestResult(len(upload.body), 0, [], [], None) for upload in uploads]


def upload(body: bytes) -> Upload:
    return Upload("token", lambda gateway: gateway, body, NOW)  # type: ignore[arg-type,return-value]


async def next_group_started(store: Store) -> None:
    """Wait until one more group has reached the store."""
    assert await asyncio.to_thread(store.started.acquire, True, WAIT_S)


async def until_waiting(commit: GroupCommit, count: int) -> None:
    async with asyncio.timeout(WAIT_S):
        while commit.waiting != count:
            await asyncio.sleep(0)


def test_a_lone_upload_is_stored_at_once_in_a_group_of_its_own() -> None:
    async def scenario() -> tuple[list[list[bytes]], int]:
        store = Store()
        result = await GroupCommit(store, anyio.CapacityLimiter(4), ManualClock(NOW)).ingest("gw-a", upload(b"a"))
        return store.groups, result.stored

    assert asyncio.run(scenario()) == ([[b"a"]], 1)


def test_uploads_arriving_while_every_slot_is_busy_form_the_next_group_in_order() -> None:
    async def scenario() -> tuple[list[list[bytes]], list[int]]:
        store = Store(held=1)
        commit = GroupCommit(store, anyio.CapacityLimiter(1), ManualClock(NOW))
        first = asyncio.create_task(commit.ingest("gw-a", upload(b"a")))
        await next_group_started(store)
        rest = [asyncio.create_task(commit.ingest(key, upload(key.encode()))) for key in ("gw-b", "gw-cc", "gw-ddd")]
        await until_waiting(commit, 3)
        store.gate.set()
        results = await asyncio.gather(first, *rest)
        return store.groups, [result.stored for result in results]

    assert asyncio.run(scenario()) == ([[b"a"], [b"gw-b", b"gw-cc", b"gw-ddd"]], [1, 4, 5, 6])


def test_two_uploads_of_one_gateway_go_in_different_groups_in_the_order_they_came() -> None:
    async def scenario() -> list[list[bytes]]:
        store = Store(held=1)
        commit = GroupCommit(store, anyio.CapacityLimiter(1), ManualClock(NOW))
        first = asyncio.create_task(commit.ingest("gw-z", upload(b"z")))
        await next_group_started(store)
        keyed = (("gw-a", b"a1"), ("gw-b", b"b1"), ("gw-a", b"a2"), ("gw-c", b"c1"), ("gw-a", b"a3"))
        rest = [asyncio.create_task(commit.ingest(key, upload(body))) for key, body in keyed]
        await until_waiting(commit, 5)
        store.gate.set()
        await asyncio.gather(first, *rest)
        return store.groups

    assert asyncio.run(scenario()) == [[b"z"], [b"a1", b"b1", b"c1"], [b"a2"], [b"a3"]]


def test_a_group_holds_at_most_max_group_uploads() -> None:
    async def scenario() -> list[int]:
        store = Store(held=1)
        commit = GroupCommit(store, anyio.CapacityLimiter(1), ManualClock(NOW), max_group=2)
        first = asyncio.create_task(commit.ingest("gw-z", upload(b"z")))
        await next_group_started(store)
        rest = [asyncio.create_task(commit.ingest(f"gw-{n}", upload(b"x"))) for n in range(5)]
        await until_waiting(commit, 5)
        store.gate.set()
        await asyncio.gather(first, *rest)
        return [len(group) for group in store.groups]

    assert asyncio.run(scenario()) == [1, 2, 2, 1]


async def wait_turns(clock: ManualClock, seconds: float) -> None:
    """Once the relief waits on ``clock``, move it on by ``seconds`` and let what it woke run."""
    async with asyncio.timeout(WAIT_S):
        while clock.sleepers != 1:
            await asyncio.sleep(0)
    clock.advance(seconds)
    for _ in range(5):
        await asyncio.sleep(0)


class Behind(NamedTuple):
    """Upload ``a``'s group being stored (held at the gate) and upload ``b`` waiting behind it."""

    store: Store
    clock: ManualClock
    commit: GroupCommit
    first: asyncio.Task[IngestResult]
    second: asyncio.Task[IngestResult]

    async def answers(self) -> list[int]:
        self.store.gate.set()
        return [result.stored for result in await asyncio.gather(self.first, self.second)]


async def one_behind_another(slots: int) -> Behind:
    store, clock = Store(held=slots), ManualClock(NOW)
    commit = GroupCommit(store, anyio.CapacityLimiter(slots), clock)
    first = asyncio.create_task(commit.ingest("a", upload(b"a")))
    await next_group_started(store)
    second = asyncio.create_task(commit.ingest("b", upload(b"b")))
    await until_waiting(commit, 1)
    return Behind(store, clock, commit, first, second)


@pytest.mark.parametrize(
    ("waited_s", "groups_started"),
    [
        pytest.param(0.0, [[b"a"]], id="at once: it waits for the group being stored"),
        pytest.param(RELIEF_S / 2, [[b"a"]], id="half the relief: it still waits"),
        pytest.param(RELIEF_S, [[b"a"], [b"b"]], id="the relief: a group of its own in a free slot"),
    ],
)
def test_an_upload_waits_behind_the_group_being_stored_at_most_the_relief(
    waited_s: float, groups_started: list[list[bytes]]
) -> None:
    async def scenario() -> tuple[list[list[bytes]], list[int]]:
        behind = await one_behind_another(slots=2)
        await wait_turns(behind.clock, waited_s)
        if len(groups_started) == 2:
            await next_group_started(behind.store)
        started = [list(group) for group in behind.store.groups]
        return started, await behind.answers()

    assert asyncio.run(scenario()) == (groups_started, [1, 1])


def test_the_relief_starts_no_group_when_every_slot_is_busy() -> None:
    async def scenario() -> tuple[int, int, list[list[bytes]]]:
        behind = await one_behind_another(slots=1)
        await wait_turns(behind.clock, RELIEF_S * 10)
        busy = (behind.commit.storing, behind.commit.waiting)
        await behind.answers()
        return *busy, behind.store.groups

    assert asyncio.run(scenario()) == (1, 1, [[b"a"], [b"b"]])


def test_what_storing_a_group_raises_is_every_one_of_its_uploads_answer() -> None:
    async def scenario() -> list[BaseException | IngestResult]:
        store = Store(held=1, fail=ConnectionError("database gone"))
        commit = GroupCommit(store, anyio.CapacityLimiter(1), ManualClock(NOW))
        first = asyncio.create_task(commit.ingest("gw-z", upload(b"z")))
        await next_group_started(store)
        rest = [asyncio.create_task(commit.ingest(key, upload(b"x"))) for key in ("a", "b")]
        await until_waiting(commit, 2)
        store.gate.set()
        return await asyncio.gather(first, *rest, return_exceptions=True)

    outcomes = asyncio.run(scenario())
    assert [(type(o).__name__, str(o)) for o in outcomes] == [("ConnectionError", "database gone")] * 3


def test_an_upload_whose_request_went_away_is_stored_all_the_same() -> None:
    async def scenario() -> tuple[list[list[bytes]], int]:
        store = Store(held=1)
        commit = GroupCommit(store, anyio.CapacityLimiter(1), ManualClock(NOW))
        first = asyncio.create_task(commit.ingest("gw-z", upload(b"z")))
        await next_group_started(store)
        gone = asyncio.create_task(commit.ingest("gw-a", upload(b"a")))
        kept = asyncio.create_task(commit.ingest("gw-b", upload(b"bb")))
        await until_waiting(commit, 2)
        gone.cancel()
        store.gate.set()
        await asyncio.wait_for(first, WAIT_S)
        return store.groups, (await asyncio.wait_for(kept, WAIT_S)).stored

    assert asyncio.run(scenario()) == ([[b"z"], [b"a", b"bb"]], 2)


@pytest.mark.parametrize("slots", [1, 3])
def test_every_upload_is_answered_once_under_a_burst(slots: int) -> None:
    async def scenario() -> list[int]:
        store = Store()
        commit = GroupCommit(store, anyio.CapacityLimiter(slots), ManualClock(NOW))
        results = await asyncio.gather(*(commit.ingest(f"gw-{n}", upload(b"x" * n)) for n in range(1, 201)))
        assert sorted(body for group in store.groups for body in group) == sorted(b"x" * n for n in range(1, 201))
        return [result.stored for result in results]

    assert asyncio.run(scenario()) == list(range(1, 201))
