"""A real PostgreSQL going away and coming back: the worker loop logs one warning line per
outage with the reason, one info line when it ends, and no traceback; the API answers 503.

An outage is made for real: the database stops accepting connections and every session
on it is terminated (``pg_terminate_backend``), so pooled connections die and new ones are
refused; it ends when connections are allowed again. The worker waits on a ManualClock.
(SQLite is a local file with no server to lose: this loop's outage is PostgreSQL's.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from central.app import create_app
from central.db import DatabaseUnavailable, migrate
from central.db.postgres import PostgresDatabase
from central.settings import Settings
from central.workers import every
from compliance.standins.dga import run_dga_standin
from protocols.clock import ManualClock
from tests.central.telemetry_support import ADMIN_TOKEN, START, seed_site
from tests.compliance.worker_support import (
    REGISTRY,
    RUT_EMPRESA,
    add_readings,
    configure_dga,
    one_pass,
    posts,
    seed,
    utc,
)
from tests.pg import with_database

INTERVAL_S = 5.0
MAX_PASSES_TO_RECONNECT = 30
WHAT = "pasada de prueba"
log = logging.getLogger("caudal.test.worker")


@pytest.fixture
def database(postgres_url: str) -> Iterator[PostgresDatabase]:
    db = PostgresDatabase(postgres_url, wait_s=1)  # a refused pass gives up after 1 s of real time
    yield db
    db.close()


class Server:
    """Switches the test database between reachable and not, from the admin connection."""

    def __init__(self, admin_url: str, url: str) -> None:
        self.admin_url, self.name = admin_url, url.rpartition("/")[2]

    def set(self, up: bool) -> None:
        with psycopg.connect(with_database(self.admin_url, "postgres"), autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS {"true" if up else "false"}')
            if not up:
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (self.name,))


async def until(condition: Callable[[], bool], timeout_s: float = 30) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.01)


async def run_passes(db: PostgresDatabase, server: Server, reachable: list[bool]) -> list[bool]:
    """The worker's passes with the database up or down as ``reachable`` says, step by step;
    each step's last outcome. Once the server is back the pool reconnects on its own backoff
    (a second or a few, real time), so a step that brings it back passes until one succeeds."""
    outcomes: list[bool] = []

    def select_one() -> None:
        with db.transaction() as conn:
            conn.fetchval("SELECT 1")

    async def one_pass() -> None:
        try:
            await asyncio.to_thread(select_one)
            outcomes.append(True)
        except Exception:
            outcomes.append(False)
            raise

    clock, stop = ManualClock(), asyncio.Event()

    async def next_pass() -> bool:
        done = len(outcomes)
        clock.advance(INTERVAL_S)
        await until(lambda: len(outcomes) > done and clock.sleepers == 1)
        return outcomes[-1]

    worker = asyncio.create_task(every(clock, stop, INTERVAL_S, one_pass, log, WHAT))
    await until(lambda: len(outcomes) == 1 and clock.sleepers == 1)
    steps = [outcomes[0]]
    for up in reachable[1:]:
        await asyncio.to_thread(server.set, up)
        outcome = await next_pass()
        for _ in range(MAX_PASSES_TO_RECONNECT):
            if outcome or not up:
                break
            outcome = await next_pass()
        steps.append(outcome)
    stop.set()
    await worker
    return steps


UP, DOWN = True, False
WARNING = (
    logging.WARNING,
    f"{WHAT}: la base de datos no responde (PostgreSQL: terminating connection due to"
    " administrator command); se reintenta cada 5 s hasta que vuelva",
)
BACK = (logging.INFO, f"{WHAT}: la base de datos responde de nuevo")


@pytest.mark.parametrize(
    ("reachable", "expected"),
    [
        ([UP, DOWN, DOWN, DOWN, UP, UP], [WARNING, BACK]),
        ([UP, DOWN, UP, DOWN, DOWN, UP], [WARNING, BACK, WARNING, BACK]),
        ([UP, UP, UP], []),
    ],
    ids=["one-outage", "two-outages", "no-outage"],
)
async def test_each_outage_logs_one_warning_and_one_recovery_line_without_traceback(
    database, postgres_admin_url, postgres_url, caplog, reachable, expected
):
    server = Server(postgres_admin_url, postgres_url)
    with caplog.at_level(logging.INFO):
        outcomes = await run_passes(database, server, reachable)
    assert outcomes == reachable  # the database really was out of reach when it was down
    records = [record for record in caplog.records if record.levelno >= logging.WARNING or record.name == log.name]
    assert [(record.levelno, record.getMessage()) for record in records] == expected
    assert [record.exc_info for record in records] == [None] * len(expected)


async def test_a_failure_that_is_not_an_outage_keeps_its_traceback(caplog):
    async def broken_pass() -> None:
        raise ValueError("a bug")

    clock, stop = ManualClock(), asyncio.Event()
    with caplog.at_level(logging.INFO, logger=log.name):
        worker = asyncio.create_task(every(clock, stop, INTERVAL_S, broken_pass, log, WHAT))
        await until(lambda: clock.sleepers == 1)
        stop.set()
        await worker
    (record,) = [record for record in caplog.records if record.name == log.name]
    assert (record.levelno, record.getMessage()) == (logging.ERROR, f"{WHAT}: falló; se reintenta en 5 s")
    assert record.exc_info[0] is ValueError


def test_the_api_answers_503_while_the_database_is_unreachable(postgres_admin_url, postgres_url):
    settings = Settings(database_url=postgres_url, secret_key="test-secret-key", workers=False)
    server = Server(postgres_admin_url, postgres_url)
    with TestClient(create_app(settings, clock=ManualClock(START))) as client:
        with client.app.state.ctx.db.transaction() as conn:
            seed_site(conn, ManualClock(START).now())
        server.set(up=False)
        response = client.get("/api/v1/latest", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        server.set(up=True)
    assert (response.status_code, response.json()) == (
        503,
        {
            "error": {
                "status": 503,
                "code": "database_unavailable",
                "message": "la base de datos no está disponible; intente de nuevo en un momento",
            }
        },
    )


async def test_a_compliance_pass_cut_by_an_outage_stops_without_a_traceback(
    postgres_admin_url, postgres_url, database, caplog
):
    """The database goes away while the DGA answers the first send: the pass stops there (the
    other slot waits for the next pass) and leaves the outage to the loop's one warning."""
    migrate(database)
    clock = ManualClock("2026-11-28T13:00:00+00:00")
    point_id = seed(database, clock.now())
    for slot, flow in (("2026-11-28T12:00:00", 12.3), ("2026-11-28T13:00:00", 12.5)):
        add_readings(database, point_id, utc(slot), flow=flow, totalizer=154320.9, water_table=35.4)
    server = Server(postgres_admin_url, postgres_url)
    async with run_dga_standin(REGISTRY, RUT_EMPRESA, clock=clock) as dga:
        configure_dga(database, point_id, dga.url, clock.now())
        clock.set("2026-11-28T13:15:00+00:00")
        record = dga.record

        async def record_then_cut(request):
            await asyncio.to_thread(server.set, False)
            return await record(request)

        dga.record = record_then_cut
        with caplog.at_level(logging.INFO), pytest.raises(DatabaseUnavailable):
            await one_pass(database, clock, postgres_url)
    assert len(posts(dga)) == 1
    assert [(record.name, record.getMessage()) for record in caplog.records if record.levelno >= logging.WARNING] == []
