"""Two (or more) replicas evaluating the same PostgreSQL database at once never notify twice."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from central.app import create_app
from central.db import Database, open_database
from central.settings import Settings
from central.telemetry.alerts.service import evaluate_ingest, evaluate_timer
from central.telemetry.processing import Processed
from protocols.clock import ManualClock
from protocols.uplink import Quality
from tests.central.alerts.db_support import EMAIL, World, flows, seed

REPLICAS = 6


@pytest.fixture
def pg_world(pg_url: str, clock: ManualClock, smtp_port: int) -> Iterator[World]:
    settings = Settings(database_url=pg_url, secret_key="test-secret-key", workers=False)
    with TestClient(create_app(settings, clock=clock)) as client:
        with client.app.state.ctx.db.transaction() as conn:
            seed(conn, clock.now())
        yield World(client, clock)


@pytest.fixture
def replicas(pg_url: str) -> Iterator[list[Database]]:
    """One connection pool per replica, as separate processes would have."""
    pools = [open_database(pg_url) for _ in range(REPLICAS)]
    yield pools
    for pool in pools:
        pool.close()


def concurrently(work: Callable[[Database], object], pools: list[Database]) -> None:
    """Run ``work`` on every replica at the same moment, in threads."""
    start = threading.Barrier(len(pools))
    failures: list[BaseException] = []

    def run(pool: Database) -> None:
        start.wait()
        try:
            work(pool)
        except BaseException as exc:  # reported below: a replica may not crash
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(pool,)) for pool in pools]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []


def point_id(world: World, code: str) -> int:
    return world.rows("SELECT id FROM points WHERE code = :c", {"c": code})[0]["id"]


def test_replicas_evaluating_the_same_batch_open_one_alert_and_queue_one_email(
    pg_world: World, replicas: list[Database]
) -> None:
    pg_world.add_channel("ana", EMAIL)
    p1, start = point_id(pg_world, "P1"), pg_world.clock.now() - timedelta(minutes=30)
    readings = [
        Processed(p1, start + timedelta(minutes=i), "flow", 20.0, None, "L/s", Quality.GOOD, None, i) for i in range(30)
    ]
    concurrently(lambda db: evaluate_ingest(db, readings, pg_world.clock.now()), replicas)
    assert pg_world.rows("SELECT kind, status FROM alerts") == [{"kind": "flow_above_right", "status": "open"}]
    assert pg_world.rows("SELECT subject FROM notifications") == [{"subject": "[Caudal] Alerta crítica: P1"}]


def test_replica_timers_racing_on_a_silent_point_queue_each_message_once(
    pg_world: World, replicas: list[Database]
) -> None:
    pg_world.add_channel("ana", {**EMAIL, "subscription": {"points": ["P1"], "min_severity": "warning"}})
    pg_world.ingest(flows(pg_world.clock.now(), [5.0]))
    pg_world.clock.advance(45 * 60)
    concurrently(lambda db: evaluate_timer(db, pg_world.clock.now()), replicas)
    pg_world.ingest(flows(pg_world.clock.now(), [5.0], first_seq=2))
    concurrently(lambda db: evaluate_timer(db, pg_world.clock.now()), replicas)
    rows = pg_world.rows("SELECT subject FROM notifications ORDER BY seq")
    assert sorted(row["subject"] for row in rows) == [
        "[Caudal] Alerta advertencia: P1",
        "[Caudal] Alerta advertencia: gw-norte",
        "[Caudal] Normalizado advertencia: P1",
        "[Caudal] Normalizado advertencia: gw-norte",
    ]
    assert pg_world.rows("SELECT COUNT(*) AS n FROM alerts") == [{"n": 2}]
