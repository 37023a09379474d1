"""Two workers at once on PostgreSQL: every slot is claimed, and sent, exactly once."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from central.db import migrate, open_database
from compliance.ledger import Transition, State
from compliance.ledger_store import claim_next, insert_submission
from compliance.standins.dga import run_dga_standin
from tests.compliance.worker_support import (
    REGISTRY,
    RUT_EMPRESA,
    add_readings,
    configure,
    dga_config,
    one_pass,
    posts,
    seed,
    utc,
)


@pytest.fixture
def pg(postgres_url):
    database = open_database(postgres_url)
    migrate(database)
    yield database
    database.close()


def test_threads_claiming_at_once_get_each_slot_once(pg, clock):
    point_id = seed(pg, clock.now())
    slots = [utc("2026-11-01T00:00:00") + timedelta(hours=i) for i in range(40)]
    with pg.transaction() as conn:
        for slot in slots:
            insert_submission(conn, point_id, "dga", slot, "live", Transition(State.PENDING, clock.now()),
                              clock.now(), values=None, measurement=None, reasons=[])

    def claim_all(worker: str) -> list:
        claimed = []
        while True:
            with pg.transaction() as conn:
                row = claim_next(conn, point_id, "dga", worker, clock.now(), clock.now() + timedelta(minutes=2))
            if row is None:
                return claimed
            claimed.append(row["slot"])

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(claim_all, [f"w{i}" for i in range(6)]))
    every = [slot for claimed in results for slot in claimed]
    assert sorted(every) == slots
    assert sum(1 for claimed in results if claimed) > 1


async def test_two_workers_passing_together_send_each_slot_once(pg, postgres_url, clock):
    point_id = seed(pg, clock.now())
    for hour in range(8, 13):
        add_readings(pg, point_id, utc(f"2026-11-28T{hour:02d}:00:00"), flow=10, totalizer=1000 + hour, water_table=30)
    async with run_dga_standin(REGISTRY, RUT_EMPRESA, clock=clock) as dga:
        configure(pg, point_id, "dga", dga_config(dga.url, valid_from="2026-11-28T11:00:00Z"), clock.now())
        for _ in range(3):  # five minutes apart: a backlog of two hours is paced
            await asyncio.gather(one_pass(pg, clock, postgres_url, "w1"), one_pass(pg, clock, postgres_url, "w2"))
            clock.advance(300)
    hours = [p["body"]["medicionSubterranea"]["horaMedicion"] for p in posts(dga)]
    assert sorted(hours) == ["07:00:00", "08:00:00"]
    assert len(dga.stored) == 2
