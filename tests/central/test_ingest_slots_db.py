"""``CAUDAL_INGEST_CONCURRENCY``: how many batches one process stores at once; the others wait
their turn for a slot instead of contending for the interpreter with every other request.

PostgreSQL only: a row lock held by the test keeps one gateway's batch inside its slot (its
contact update waits for the lock), while another gateway's batch touches no locked row, so
whether the second one is stored meanwhile depends only on the slots. On PostgreSQL a slot
stores a group of batches (:mod:`central.telemetry.uplink.group_commit`), one group at a
time: the second batch waits for the next group, or, once it has waited the relief, takes a
free slot. The server's clock here reads the test's time but waits in real time, so that the
relief passes without the test reaching into the server's event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta

import httpx
import psycopg
import pytest

from central.app import create_app
from central.context import AppContext
from central.settings import Settings
from protocols.clock import ManualClock
from tests.central.served import serving
from tests.central.telemetry_support import GATEWAY_TOKEN, OTHER_GATEWAY_TOKEN, START, batch, reading, seed_site
from tests.ports import free_port

NOW = datetime.fromisoformat(START)
DEADLINE_S = 15.0


class FixedTimeClock(ManualClock):
    """The test's time for what the server reads; real waits for what it waits on."""

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


def until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true"
        time.sleep(0.01)


def post(url: str, token: str, point: str, gateway: str, readings: int = 1) -> int:
    """``readings`` flow readings of ``point``, one a second before NOW."""
    document = batch(
        [reading(n, "flow", NOW - timedelta(seconds=n), 5.0, point=point) for n in range(1, readings + 1)],
        NOW,
        gateway=gateway,
    )
    reply = httpx.post(f"{url}/api/v1/ingest", json=document, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    return reply.status_code


@pytest.fixture
def served(pg_url: str, request: pytest.FixtureRequest) -> Iterator[tuple[str, AppContext]]:
    settings = Settings(database_url=pg_url, secret_key="k", workers=False, ingest_concurrency=request.param)
    app = create_app(settings, clock=FixedTimeClock(NOW))
    with app.state.ctx.db.transaction() as conn:
        seed_site(conn, NOW)
    with serving(app, free_port()) as url:
        yield url, app.state.ctx


def lock_waiters(pg_url: str) -> int:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        row = conn.execute("SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'").fetchone()
    return row[0] if row else 0


@pytest.mark.parametrize(
    ("served", "second_stored_meanwhile"),
    [
        pytest.param(1, False, id="one slot: it waits"),
        pytest.param(2, True, id="two slots: it is stored after the relief"),
    ],
    indirect=["served"],
)
def test_a_batch_beyond_the_ingest_slots_waits_for_one_and_is_then_stored(
    served: tuple[str, AppContext], pg_url: str, second_stored_meanwhile: bool
) -> None:
    url, ctx = served
    with psycopg.connect(pg_url) as locker, ThreadPoolExecutor(2) as clients:
        locker.execute("SELECT 1 FROM gateways WHERE name = 'gw-norte' FOR UPDATE")
        first: Future[int] = clients.submit(post, url, GATEWAY_TOKEN, "P1", "gw-norte")
        until(lambda: lock_waiters(pg_url) == 1)  # gw-norte's batch holds its slot, waiting for the row
        second: Future[int] = clients.submit(post, url, OTHER_GATEWAY_TOKEN, "P3", "gw-sur")
        if second_stored_meanwhile:
            assert (second.result(timeout=DEADLINE_S), first.done()) == (200, False)
        else:
            assert ctx.ingest_groups is not None
            until(lambda: ctx.ingest_groups.waiting == 1)  # for the next group: the only slot holds one
            assert (first.done(), second.done()) == (False, False)
        locker.rollback()
        assert (first.result(timeout=DEADLINE_S), second.result(timeout=DEADLINE_S)) == (200, 200)
    with ctx.db.connect() as conn:
        stored = conn.fetchall("SELECT p.code FROM readings r JOIN points p ON p.id = r.point_id ORDER BY p.code")
    assert [row["code"] for row in stored] == ["P1", "P3"]


def test_a_backlog_batch_waits_for_a_slot_of_its_own_not_for_a_group(
    served_one_slot: tuple[str, AppContext], pg_url: str
) -> None:
    """A body over GROUP_BODY_BYTES (a backlog) is stored alone, never in a group whose small
    batches would then wait for its COPY: with the only slot busy it waits for the slot."""
    url, ctx = served_one_slot
    assert ctx.ingest_groups is not None
    with psycopg.connect(pg_url) as locker, ThreadPoolExecutor(2) as clients:
        locker.execute("SELECT 1 FROM gateways WHERE name = 'gw-norte' FOR UPDATE")
        first: Future[int] = clients.submit(post, url, GATEWAY_TOKEN, "P1", "gw-norte")
        until(lambda: lock_waiters(pg_url) == 1)
        backlog: Future[int] = clients.submit(post, url, OTHER_GATEWAY_TOKEN, "P3", "gw-sur", 1_000)
        until(lambda: ctx.ingest_slots.statistics().tasks_waiting == 1)
        assert (ctx.ingest_groups.waiting, first.done(), backlog.done()) == (0, False, False)
        locker.rollback()
        assert (first.result(timeout=DEADLINE_S), backlog.result(timeout=DEADLINE_S)) == (200, 200)
    with ctx.db.connect() as conn:
        assert conn.fetchval("SELECT COUNT(*) FROM readings") == 1_001


@pytest.fixture
def served_one_slot(pg_url: str) -> Iterator[tuple[str, AppContext]]:
    settings = Settings(database_url=pg_url, secret_key="k", workers=False, ingest_concurrency=1)
    app = create_app(settings, clock=ManualClock(NOW))
    with app.state.ctx.db.transaction() as conn:
        seed_site(conn, NOW)
    with serving(app, free_port()) as url:
        yield url, app.state.ctx
