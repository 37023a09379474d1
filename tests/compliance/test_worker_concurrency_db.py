"""Two workers at once on PostgreSQL: every slot is claimed, and sent, exactly once; a gap is never
missed while another replica writes it."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from central.app import create_app
from central.crypto import SecretBox
from central.db import migrate, open_database
from compliance.config_store import load_configs
from compliance.dga.evaluate import create_due
from compliance.dga.regulator import DGA
from compliance.late_data import take_and_refill
from compliance.ledger import State, Transition
from compliance.ledger_store import claim_next, insert_submission
from tests.compliance.worker_support import (
    SECRET_KEY,
    add_readings,
    central_settings,
    configure_dga,
    ledger,
    one_pass,
    posts,
    seed,
    upload,
    utc,
    worker_settings,
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
            insert_submission(
                conn,
                point_id,
                "dga",
                slot,
                "live",
                Transition(State.PENDING, clock.now()),
                clock.now(),
                values=None,
                measurement=None,
                reasons=[],
            )

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


async def test_two_workers_passing_together_send_each_slot_once(pg, postgres_url, clock, dga):
    point_id = seed(pg, clock.now())
    for hour in range(8, 13):
        add_readings(pg, point_id, utc(f"2026-11-28T{hour:02d}:00:00"), flow=10, totalizer=1000 + hour, water_table=30)
    configure_dga(pg, point_id, dga.url, clock.now(), valid_from="2026-11-28T11:00:00Z")
    for _ in range(3):  # five minutes apart: a backlog of two hours is paced
        await asyncio.gather(one_pass(pg, clock, postgres_url, "w1"), one_pass(pg, clock, postgres_url, "w2"))
        clock.advance(300)
    hours = [p["body"]["medicionSubterranea"]["horaMedicion"] for p in posts(dga)]
    assert sorted(hours) == ["07:00:00", "08:00:00"]
    assert len(dga.stored) == 2


def lock_waiters(pg) -> int:
    with pg.connect() as conn:
        return conn.fetchval(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )


def test_a_gap_another_replica_is_still_writing_is_filled_once_it_is_committed(pg, postgres_url, clock):
    """Replica A evaluates the 12:00 slot before its readings arrive and has not committed the
    gap yet when the readings are stored and replica B takes the changed hours: B waits for A's
    gap, then fills it (without the wait it would find no gap and drop the change)."""
    point_id = seed(pg, clock.now())
    one_slot = {"valid_from": "2026-11-28T12:00:00Z", "valid_to": "2026-11-28T12:30:00Z"}
    configure_dga(pg, point_id, "http://127.0.0.1:9", clock.now(), **one_slot)
    with pg.transaction() as conn:
        (stored,), _ = load_configs(conn, SecretBox(SECRET_KEY), DGA)
    written, commit = threading.Event(), threading.Event()

    def replica_a() -> None:
        with pg.transaction() as conn:
            create_due(conn, stored, clock.now(), worker_settings())
            written.set()
            commit.wait(30)

    def replica_b() -> list:
        with pg.transaction() as conn:
            reporting = DGA.reporting(pg, clock, central_settings(postgres_url), worker_settings(), None)
            return take_and_refill(conn, {DGA.name: reporting}, {DGA.name: {point_id: stored}}, clock.now())[1]

    with ThreadPoolExecutor(2) as pool, TestClient(create_app(central_settings(postgres_url), clock=clock)) as client:
        a = pool.submit(replica_a)
        written.wait(30)
        upload(client, {utc("2026-11-28T12:00:00"): {"flow": 10.0, "totalizer": 1000.0, "level": 20.0}}, clock.now())
        b = pool.submit(replica_b)
        for _ in range(200):
            if lock_waiters(pg) or b.done():
                break
            time.sleep(0.05)
        b_waited = not b.done()
        commit.set()
        a.result(30)
        rechecked = [(action.action, action.state) for action in b.result(30)]
    assert (b_waited, rechecked, ledger(pg)) == (
        True,
        [("rechecked", "pending")],
        [("2026-11-28T12:00:00+00:00", "pending", None)],
    )
