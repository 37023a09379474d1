"""Ingest marks stale hours; the rollup worker and aggregate reads refresh them, exactly."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from central.app import create_app
from central.settings import Settings
from central.telemetry import rollup
from central.telemetry.processing import Processed
from central.telemetry.rollup_worker import drain, rollup_worker
from protocols.clock import ManualClock
from protocols.uplink import Quality
from tests.central.alerts.db_support import CountingConnection
from tests.central.telemetry_support import START, Site, batch, bucket, reading, series

NOW = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)


def at(hhmm: str) -> datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return datetime(2026, 11, 28, hours, minutes, tzinfo=UTC)


def send(site: Site, *readings: dict[str, Any]) -> Response:
    """gw-norte's batch of ``readings``, sent at NOW."""
    return site.ingest(batch(list(readings), NOW))


def marks(site: Site) -> list[tuple[str, datetime, datetime]]:
    rows = site.rows(
        "SELECT p.code, m.lo, m.hi FROM rollup_pending m JOIN points p ON p.id = m.point_id ORDER BY p.code, m.lo"
    )
    return [(row["code"], row["lo"], row["hi"]) for row in rows]


def summaries(site: Site) -> list[dict[str, Any]]:
    return site.rows(
        "SELECT p.code, h.* FROM readings_hourly h JOIN points p ON p.id = h.point_id ORDER BY p.code, h.hour"
    )


def flow_hours(site: Site) -> list[tuple[str, datetime, float, int]]:
    """(point, hour, flow sum, flow count) of every summary: enough to see what was counted."""
    return [(row["code"], row["hour"], row["flow_sum"], row["flow_count"]) for row in summaries(site)]


def catch_up(site: Site, limit: int = 100) -> int:
    with site.db.transaction() as conn:
        return rollup.catch_up(conn, limit)


def poll(condition: Callable[[], bool], timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


async def until(condition: Callable[[], bool], timeout_s: float = 10) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.01)


def backlog() -> list[list[dict[str, Any]]]:
    """Eight hours of two points in batches of 25 that split hours, newest batch first
    (a gateway emptying its buffer), plus one batch sent twice."""
    start = at("05:00")
    readings = (
        series("flow", start, [float(i % 9) for i in range(69)], step_s=420)
        + series("totalizer", start, [100.0 + i * 0.5 for i in range(69)], step_s=420, first_seq=100)
        + series("flow", start, [1.5] * 37, step_s=780, first_seq=200, point="P2")
    )
    batches = [readings[first : first + 25] for first in range(0, len(readings), 25)]
    return [*reversed(batches), batches[2]]


def test_ingest_marks_each_run_of_hours_and_leaves_the_summaries_alone(site):
    response = send(
        site,
        reading(1, "flow", at("07:10"), 2.0),
        reading(2, "flow", at("10:50"), 3.0),
        reading(3, "flow", at("11:05"), 4.0),
        reading(4, "flow", at("11:06"), 4.0),
        reading(5, "flow", at("08:30"), 1.0, point="P2"),
    )
    assert response.json()["stored"] == 5
    assert marks(site) == [
        ("P1", at("07:00"), at("08:00")),
        ("P1", at("10:00"), at("12:00")),
        ("P2", at("08:00"), at("09:00")),
    ]
    assert summaries(site) == []


def test_catch_up_writes_what_a_full_refresh_writes_and_leaves_no_marks(site):
    for readings in backlog():
        assert send(site, *readings).status_code == 200
    handled = len(marks(site))
    assert catch_up(site) == handled
    caught_up = summaries(site)
    with site.db.transaction() as conn:
        conn.execute("DELETE FROM readings_hourly")
        for point_id in (row["id"] for row in conn.fetchall("SELECT id FROM points")):
            rollup.refresh_range(conn, point_id, at("00:00"), NOW)
    assert (caught_up, marks(site)) == (summaries(site), [])
    assert len(caught_up) == 16


def test_one_pass_over_many_points_writes_what_each_points_own_refresh_writes(site):
    """The worker refreshes a batch of points in one statement: each point's hours only from
    its own readings, counters included, though the points share every hour."""
    start = at("06:00")
    for point, base, step_s in (("P1", 100.0, 300), ("P2", 5000.0, 420)):
        count = 6 * 3600 // step_s
        send(
            site,
            *series("flow", start, [float(i % 4) for i in range(count)], step_s=step_s, point=point),
            *series("totalizer", start, [base + i for i in range(count)], step_s=step_s, first_seq=500, point=point),
        )
    assert catch_up(site) == 2
    in_one_pass = summaries(site)
    with site.db.transaction() as conn:
        conn.execute("DELETE FROM readings_hourly")
        for point_id in (row["id"] for row in conn.fetchall("SELECT id FROM points ORDER BY id")):
            rollup.refresh_range(conn, point_id, at("00:00"), NOW)
    assert in_one_pass == summaries(site)
    assert [(row["code"], row["total_first"], row["total_last"]) for row in in_one_pass[5:7]] == [
        ("P1", 160.0, 171.0),  # P1's last hour, 11:00, five-minute readings
        ("P2", 5000.0, 5008.0),  # P2's first, 06:00, seven-minute readings
    ]


def test_the_worker_drains_a_backlog_batch_after_batch(site):
    for readings in backlog():
        send(site, *readings)
    handled = len(marks(site))
    assert drain(site.db, limit=3) == handled
    assert (marks(site), len(summaries(site))) == ([], 16)


def test_a_pass_with_nothing_marked_sends_only_its_query_for_marks(site):
    with site.db.transaction() as conn:
        counted = CountingConnection(conn)
        assert rollup.catch_up(counted, 100) == 0
    assert counted.calls == ["fetchall"]


def test_a_mark_written_while_catching_up_stays_for_the_next_pass(site):
    send(site, reading(1, "flow", at("10:10"), 2.0))
    with site.db.transaction() as conn:
        taken = rollup.pending(conn, 10)
        point_id = taken[0].point_id
        # what an ingest committing during the refresh writes: a reading and a mark of the same hour
        conn.execute(
            "INSERT INTO readings (point_id, ts, variable, value, unit, quality, received_at)"
            " VALUES (:p, :ts, 'flow', 4.0, 'L/s', 'good', :now)",
            {"p": point_id, "ts": at("10:20"), "now": NOW},
        )
        rollup.mark(
            conn,
            rollup.stale_hours([Processed(point_id, at("10:20"), "flow", 4.0, None, "L/s", Quality.GOOD, None, 2)]),
        )
        rollup.settle(conn, taken)
    assert marks(site) == [("P1", at("10:00"), at("11:00"))]
    assert catch_up(site) == 1
    assert (marks(site), flow_hours(site)) == ([], [("P1", at("10:00"), 6.0, 2)])


def test_an_aggregate_right_after_ingest_refreshes_only_the_marks_that_change_its_answer(site):
    send(site, reading(1, "totalizer", at("03:10"), 100.0))
    catch_up(site)  # the worker summarised 03:00; then a late batch arrives
    send(
        site,
        reading(2, "flow", at("02:10"), 1.0),
        reading(3, "totalizer", at("06:10"), 101.0),
        reading(4, "flow", at("10:10"), 5.0),
        reading(5, "totalizer", at("10:10"), 103.0),
        reading(6, "flow", at("12:30"), 7.0),
        reading(7, "flow", at("10:10"), 1.5, point="P2"),
    )
    response = site.aggregates("2026-11-28T09:00:00Z", "2026-11-28T12:00:00Z", bucket="hour", interval_s=600)
    assert response.json()["items"] == [
        bucket("2026-11-28T09:00:00Z", "2026-11-28T10:00:00Z", readings=0, missing_minutes=60.0),
        bucket(
            "2026-11-28T10:00:00Z",
            "2026-11-28T11:00:00Z",
            **dict.fromkeys(("flow_min_lps", "flow_max_lps", "flow_avg_lps"), 5.0),  # its one flow reading
            volume_m3=2.0,
            readings=2,
            missing_minutes=50.0,
        ),
        bucket("2026-11-28T11:00:00Z", "2026-11-28T12:00:00Z", readings=0, missing_minutes=60.0),
    ]
    # 06:00 holds the count the range's volume starts from; 02:00 is older than the summarised 03:00
    assert marks(site) == [
        ("P1", at("02:00"), at("03:00")),
        ("P1", at("12:00"), at("13:00")),
        ("P2", at("10:00"), at("11:00")),
    ]


def test_the_metrics_count_the_pending_marks(site):
    send(site, reading(1, "flow", at("07:10"), 2.0), reading(2, "flow", at("10:50"), 3.0))
    assert "caudal_rollup_pending_marks 2.0" in site.client.get("/metrics").text.splitlines()


def test_the_metrics_count_the_changed_hours_until_they_are_taken(site):
    send(site, reading(1, "flow", at("07:10"), 2.0), reading(2, "flow", at("10:50"), 3.0))
    with site.db.transaction() as conn:
        rollup.catch_up(conn, 10)
    waiting = "caudal_hours_changed_waiting 2.0" in site.client.get("/metrics").text.splitlines()
    with site.db.transaction() as conn:
        rollup.take_changed(conn, 10)
    assert (waiting, "caudal_hours_changed_waiting 0.0" in site.client.get("/metrics").text.splitlines()) == (
        True,
        True,
    )


async def test_the_worker_refreshes_marked_hours_every_interval_until_stopped(site, monkeypatch):
    monkeypatch.setenv("CAUDAL_ROLLUP_INTERVAL_S", "30")
    settings = Settings.from_env(database_url=site.client.app.state.ctx.settings.database_url)
    stop = asyncio.Event()
    task = asyncio.create_task(rollup_worker(replace(site.client.app.state.ctx, settings=settings))(stop))
    await until(lambda: site.clock.sleepers == 1)
    send(site, reading(1, "flow", at("10:10"), 2.0), reading(2, "flow", at("11:10"), 3.0))
    site.clock.advance(29.9)
    assert (marks(site), site.clock.sleepers) == ([("P1", at("10:00"), at("12:00"))], 1)
    site.clock.advance(0.1)
    await until(lambda: not marks(site) and site.clock.sleepers == 1)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert flow_hours(site) == [("P1", at("10:00"), 2.0, 1), ("P1", at("11:00"), 3.0, 1)]


def test_a_telemetry_service_with_workers_summarises_what_was_ingested(site):
    send(site, reading(1, "flow", at("10:10"), 2.0), reading(2, "flow", at("10:20"), 4.0))
    settings = site.client.app.state.ctx.settings.model_copy(update={"workers": True})
    with TestClient(create_app(settings, role="telemetry", clock=ManualClock(START))) as client:
        poll(lambda: not marks(site))  # the worker's first pass runs at start-up
        scraped = client.get("/metrics").text.splitlines()
    assert (flow_hours(site), "caudal_rollup_pending_marks 0.0" in scraped) == ([("P1", at("10:00"), 6.0, 2)], True)


def postgresql_only(site: Site) -> None:
    if site.db.dialect != "postgresql":
        pytest.skip("row and advisory locks: SQLite runs one writing transaction at a time")


def test_worker_replicas_take_different_marks(site):
    postgresql_only(site)
    send(site, reading(1, "flow", at("07:10"), 2.0), reading(2, "flow", at("10:10"), 3.0))
    with site.db.transaction() as first, site.db.transaction() as second:
        taken = [(stale.lo, stale.hi) for stale in rollup.pending(first, 1) + rollup.pending(second, 10)]
    assert taken == [(at("07:00"), at("08:00")), (at("10:00"), at("11:00"))]


def test_refreshers_of_one_point_take_turns(site):
    """A refresh that read the readings before a newer one committed must not write after it."""
    postgresql_only(site)
    send(site, reading(1, "flow", at("10:10"), 2.0))
    send(site, reading(2, "flow", at("10:20"), 4.0))
    waiting = (
        "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database()"
        " AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
    )
    with ThreadPoolExecutor(1) as pool:
        with site.db.transaction() as first:
            rollup.settle(first, rollup.pending(first, 1))
            other = pool.submit(drain, site.db)
            poll(lambda: site.rows(waiting) == [{"n": 1}])
            assert not other.done()
        assert other.result(timeout=10) == 1
    assert (marks(site), flow_hours(site)) == ([], [("P1", at("10:00"), 6.0, 2)])
