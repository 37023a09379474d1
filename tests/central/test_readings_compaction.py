"""Compaction of old readings on PostgreSQL (migration 0160, central/telemetry/compaction.py):
every reader gives the same answer before and after, a pass interrupted anywhere loses and
doubles nothing, a reading arriving late for a compacted hour is stored and read once, and the
rollup worker's one statement over many points' runs of hours, compacted ones among them,
writes what refreshing each point alone writes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from central.db import Connection, Database
from central.db.connection import Params
from central.telemetry import compaction, exports, lookups, queries, rollup, stored
from central.telemetry.rollup_worker import one_pass
from compliance import readings as compliance_readings
from tests.central.telemetry_support import RESET, Site, batch, messy_series, reading, site_app
from tests.pg import temporary_database

NOW = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)  # telemetry_support.START
AGE_DAYS = 90
CUTOFF = compaction.cutoff(NOW, AGE_DAYS)  # 2026-08-30T13:00Z
FIRST = CUTOFF - timedelta(hours=30)
LAST = CUTOFF + timedelta(hours=18)  # the series straddles the cut: old hours compacted, newer ones not


@pytest.fixture(scope="module")
def pg_client(postgres_admin_url: str) -> Iterator[TestClient]:
    with temporary_database(postgres_admin_url, "caudal_compaction") as url:
        yield from site_app(url)


@pytest.fixture
def site(pg_client: TestClient) -> Site:
    ctx = pg_client.app.state.ctx
    with ctx.db.transaction() as conn:
        for statement in (
            *RESET,
            "DELETE FROM readings_compact",
            "UPDATE readings_compaction SET done_before = NULL, reach = NULL",
        ):
            conn.execute(statement)
    return Site(pg_client, ctx.clock)


def straddling_series(point: str, seed: int) -> list[dict[str, Any]]:
    """FIRST to LAST (see :func:`messy_series`): P1's cut-off gives raw values and flags and its
    depth derives water table; seconds past the minute now and then."""
    minutes = int((LAST - FIRST).total_seconds() // 60)
    return messy_series(seed, FIRST, minutes, steps=[1, 1, 2], jitter_s=[0, 0, 0, 7.25], point=point)


def load(site: Site) -> None:
    """P1 and P2's series through ingest, a meter swap with an unknown old count, and P3's
    readings of mixed units in one hour written directly (ingest keeps one unit per variable)."""
    for point, seed in (("P1", 7), ("P2", 8)):
        readings = straddling_series(point, seed)
        for first in range(0, len(readings), 997):
            assert site.ingest(batch(readings[first : first + 997], NOW)).status_code == 200
    assert (
        site.post(
            "/api/v1/points/P1/meter-changes",
            {"ts": (CUTOFF - timedelta(hours=5, seconds=30)).isoformat(), "new_base_m3": 0.0},
        ).status_code
        == 201
    )
    with site.db.transaction() as conn:
        for offset_us, unit, value in ((0, "L/s", 1.0), (1_500_000_250, "m3/h", 3.6), (3_599_999_999, "L/s", None)):
            conn.execute(
                "INSERT INTO readings (point_id, ts, variable, value, unit, quality, flags, received_at)"
                " SELECT id, :ts, 'flow', :v, :u, :q, :f, :ts FROM points WHERE code = 'P3'",
                {
                    "ts": FIRST + timedelta(microseconds=offset_us),
                    "v": value,
                    "u": unit,
                    "q": "good" if value is not None else "timeout",
                    "f": "derived" if unit == "m3/h" else None,
                },
            )
    one_pass(site.db, NOW)


def walk(site: Site, code: str, **params: Any) -> list[dict[str, Any]]:
    """Every reading of the point from FIRST to LAST, through the API in pages of 97."""
    items, cursor = [], None
    while True:
        query = {"from_": FIRST.isoformat(), "to": LAST.isoformat(), "limit": 97, **params}
        page = site.get(f"/api/v1/points/{code}/readings", **query, **({"cursor": cursor} if cursor else {})).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def api_answers(site: Site) -> dict[str, Any]:
    span = {"from_": FIRST.isoformat(), "to": LAST.isoformat()}
    return {
        "pages": {code: walk(site, code) for code in ("P1", "P2", "P3")},
        "totalizer": walk(site, "P1", variable="totalizer"),
        "total": site.get("/api/v1/points/P1/readings", **span, limit=5, total="true").json(),
        "csv": site.get("/api/v1/points/P1/readings", **span, format="csv").text,
        "aggregates": [
            site.get(f"/api/v1/points/{code}/aggregates", **span, bucket=bucket, interval_s=interval).json()
            for code in ("P1", "P3")
            for bucket, interval in (("hour", 60), ("day", 60), ("hour", 45))
        ],
        "aggregates_csv": site.get("/api/v1/points/P1/aggregates", **span, bucket="hour", format="csv").text,
    }


def library_answers(site: Site) -> dict[str, Any]:
    """Exports, compliance's and alerts' reads, and the hourly summaries recomputed from scratch."""
    with site.db.connect() as conn:
        p1 = conn.fetchval("SELECT id FROM points WHERE code = 'P1'")
        selection = queries.ReadingFilter(p1, FIRST, LAST)
        answers = {
            "xlsx": list(exports._reading_cells(site.db, selection, None, ZoneInfo("America/Santiago"))),
            "samples": compliance_readings.samples(
                conn, p1, compliance_readings.VARIABLES, CUTOFF - timedelta(hours=2), CUTOFF + timedelta(hours=1)
            ),
            "volume": compliance_readings.volume_in(conn, p1, FIRST, LAST),
            "swaps": compliance_readings.meter_changes(conn, p1, FIRST, LAST),
            "alerts": lookups.readings_from(conn, p1, CUTOFF - timedelta(hours=3), 500),
        }
    with site.db.transaction() as conn:
        conn.execute("DELETE FROM readings_hourly")
        rollup.refresh_range(conn, p1, FIRST.replace(minute=0, second=0, microsecond=0), LAST)
        answers["hourly"] = [
            {name: round(value, 9) if isinstance(value, float) else value for name, value in row.items()}
            for row in rollup.hourly_rows(conn, p1, FIRST - rollup.HOUR, LAST)
        ]  # sums' order varies
    return answers


def answers(site: Site) -> dict[str, Any]:
    return {**api_answers(site), **library_answers(site)}


def stored_counts(site: Site) -> tuple[int, int]:
    """(readings in ``readings``, readings in compacted rows)."""
    with site.db.connect() as conn:
        return (
            conn.fetchval("SELECT COUNT(*) FROM readings"),
            conn.fetchval("SELECT COALESCE(SUM(cardinality(offsets_us)), 0) FROM readings_compact"),
        )


def test_every_reader_gives_the_same_answer_after_compaction(site: Site) -> None:
    load(site)
    before, counts = answers(site), stored_counts(site)
    moved = compaction.compact(site.db, NOW, AGE_DAYS)
    after = answers(site)
    assert {name: after[name] == before[name] for name in before} == {name: True for name in before}
    assert moved > 0 and stored_counts(site) == (counts[0] - moved, moved)
    with site.db.connect() as conn:
        assert conn.fetchval("SELECT MAX(ts) FROM readings WHERE ts < :c", {"c": CUTOFF}) is None


def test_the_rollup_worker_compacts_when_configured(site: Site) -> None:
    load(site)
    one_pass(site.db, NOW, compact_after_days=AGE_DAYS)
    with site.db.connect() as conn:
        assert compaction.state(conn) == (CUTOFF, CUTOFF)
        assert conn.fetchval("SELECT COUNT(*) FROM readings WHERE ts < :c", {"c": CUTOFF}) == 0


def test_a_pass_interrupted_between_batches_or_inside_one_loses_and_doubles_nothing(site: Site) -> None:
    load(site)
    before, total = answers(site), sum(stored_counts(site))
    first = next(compaction.plan([1, 2, 3], FIRST, CUTOFF, per_batch=1))
    with pytest.raises(RuntimeError), site.db.transaction() as conn:  # killed before the commit
        compaction.move(conn, first)
        raise RuntimeError("killed")
    assert stored_counts(site)[1] == 0
    states = []
    for batches in (1, 2, 1000):  # a batch of one point each: killed after one, then after two more (mid-span),
        compaction.compact(site.db, NOW, AGE_DAYS, batches=batches, per_batch=1)  # then run to the end
        assert sum(stored_counts(site)) == total
        assert answers(site) == before
        with site.db.connect() as conn:
            states.append(compaction.state(conn))
    day = FIRST + timedelta(days=1)
    assert states == [(None, day), (None, day), (CUTOFF, CUTOFF)]


CRASHING_PASS = """
import sys
from datetime import datetime
from central.db import open_database
from central.telemetry import compaction
url, where, first, cutoff = sys.argv[1], sys.argv[2], datetime.fromisoformat(sys.argv[3]), datetime.fromisoformat(sys.argv[4])
db = open_database(url)
if where == "inside a batch":
    with db.transaction() as conn:
        compaction.move(conn, next(compaction.plan([1, 2, 3], first, cutoff, per_batch=1)))
        print("moved, not committed", flush=True)
        sys.stdin.readline()
else:
    compaction.compact(db, datetime.fromisoformat(sys.argv[5]), int(sys.argv[6]), batches=2, per_batch=1)
    print("two batches committed", flush=True)
    sys.stdin.readline()
"""


@pytest.mark.parametrize("where", ["inside a batch", "between batches"])
def test_a_compacting_process_killed_loses_and_doubles_nothing(site: Site, where: str) -> None:
    """A real crash: the pass runs in its own process, which is SIGKILLed with a batch moved
    but not committed, or after two committed; the next pass runs to the end from there."""
    load(site)
    before, total = answers(site), sum(stored_counts(site))
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CRASHING_PASS,
            site.db.url,
            where,
            FIRST.isoformat(),
            CUTOFF.isoformat(),
            NOW.isoformat(),
            str(AGE_DAYS),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() in {
            "moved, not committed",
            "two batches committed",
        }
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert sum(stored_counts(site)) == total and answers(site) == before
    compaction.compact(site.db, NOW, AGE_DAYS, batches=1000, per_batch=1)
    assert sum(stored_counts(site)) == total and answers(site) == before
    with site.db.connect() as conn:
        assert conn.fetchval("SELECT COUNT(*) FROM readings WHERE ts < :c", {"c": CUTOFF}) == 0


def test_plan_spans_oldest_first_each_split_by_points() -> None:
    start = datetime(2026, 8, 1, 10, 42, tzinfo=UTC)
    until = start.replace(minute=0) + timedelta(hours=30)
    batches = [
        (b.points, b.lo.isoformat(), b.hi.isoformat(), b.completes)
        for b in compaction.plan([4, 5, 6], start, until, per_batch=2)
    ]
    assert batches == [
        ((4, 5), "2026-08-01T10:00:00+00:00", "2026-08-02T10:00:00+00:00", False),
        ((6,), "2026-08-01T10:00:00+00:00", "2026-08-02T10:00:00+00:00", True),
        ((4, 5), "2026-08-02T10:00:00+00:00", "2026-08-02T16:00:00+00:00", False),
        ((6,), "2026-08-02T10:00:00+00:00", "2026-08-02T16:00:00+00:00", True),
    ]
    assert list(compaction.plan([], start, until)) == []


LATE = CUTOFF - timedelta(hours=10, seconds=-30.5)  # no reading of the series is at 30.5 s past a minute


def late_batch(seq: int) -> dict[str, Any]:
    """A new reading in a compacted hour, and a resend, with another value, of a compacted one."""
    resent = next(r for r in straddling_series("P1", 7) if r["variable"] == "level" and r["value"] is not None)
    return batch([reading(seq, "level", LATE, 12.5), {**resent, "seq": seq + 1, "value": 99.0}], NOW)


def test_a_late_reading_of_a_compacted_hour_is_stored_and_read_once(site: Site) -> None:
    load(site)
    assert site.ingest(late_batch(900_000)).status_code == 200  # never compacted: the resend is a duplicate
    one_pass(site.db, NOW)
    expected = answers(site)
    with site.db.transaction() as conn:
        assert conn.execute("DELETE FROM readings WHERE ts = :a", {"a": LATE}) == 2  # level and its water table
    compaction.compact(site.db, NOW, AGE_DAYS)
    reply = site.ingest(late_batch(900_000))
    assert (reply.status_code, reply.json()["stored"], reply.json()["duplicates"]) == (200, 2, 0)  # ingest sees
    one_pass(site.db, NOW)  # only readings: the resend counts as stored, and is read once (below)
    assert answers(site) == expected
    compaction.compact(site.db, NOW, AGE_DAYS)  # the hour is compacted: the late readings stay where they are
    assert answers(site) == expected
    assert site.rows("SELECT variable, value FROM readings WHERE ts < :c ORDER BY value", {"c": CUTOFF}) == [
        {"variable": "water_table", "value": -49.0},
        {"variable": "level", "value": 12.5},  # the resend's rows are
        {"variable": "water_table", "value": 37.5},
        {"variable": "level", "value": 99.0},
    ]  # kept, the compacted read


def test_a_month_compaction_has_passed_is_swept_once_and_its_files_shrink(postgres_url: str) -> None:
    from central.db import migrate, open_database
    from central.telemetry import partitions

    db = open_database(postgres_url)
    try:
        migrate(db)
        month = partitions.next_month(datetime.now(UTC))  # a month partition of its own, created ahead
        one_pass(db, month - timedelta(days=1))
        with db.transaction() as conn:
            conn.execute(
                "INSERT INTO points (code, name, kind, created_at, updated_at) VALUES ('P', 'P', 'subterranea',"
                " :t, :t)",
                {"t": month},
            )
            conn.execute(
                "INSERT INTO readings (point_id, ts, variable, value, unit, quality, received_at)"
                " SELECT p.id, :m + m * interval '1 minute', 'flow', m, 'L/s', 'good', :m"
                " FROM points p, generate_series(0, 20159) m",
                {"m": month},
            )
        name, size = partitions.partition_name(month), "SELECT pg_total_relation_size(CAST(:n AS regclass))"
        with db.connect() as conn:
            loaded = conn.fetchval(size, {"n": name})
        assert compaction.compact(db, month + timedelta(days=AGE_DAYS + 62), AGE_DAYS, batches=10**6) == 20160
        swept = [compaction.sweep(db), compaction.sweep(db)]
        with db.connect() as conn:
            left = conn.fetchval(size, {"n": name})
        assert swept[0][-2:] == [name, partitions.partition_name(partitions.next_month(month))] and swept[1] == []
        assert left * 20 < loaded
    finally:
        db.close()


def compact_before(site: Site, what: str) -> None:
    """none; the first day (every point); or P2's first day only (compaction's reach then passes P1's)."""
    if what == "first day":
        compaction.compact(site.db, NOW, AGE_DAYS, batches=1)
    elif what == "P2's first day":
        with site.db.transaction() as conn:
            p2 = conn.fetchval("SELECT id FROM points WHERE code = 'P2'")
            compaction.move(conn, compaction.Batch((p2,), FIRST, FIRST + timedelta(days=1), False))


T = TypeVar("T")


class BatchesAfterEachStatement:
    """A real connection that, after each statement it runs, commits every remaining
    compaction batch on connections of its own: a reader of several statements would see
    readings moved between them twice or not at all."""

    def __init__(self, conn: Connection, db: Database) -> None:
        self.conn, self.db, self.dialect = conn, db, conn.dialect
        self.moved: list[int] = []

    def _then_compact(self, answer: T) -> T:
        self.moved.append(compaction.compact(self.db, NOW, AGE_DAYS))
        return answer

    def execute(self, sql: str, params: Params = None) -> int:
        return self._then_compact(self.conn.execute(sql, params))

    def fetchall(self, sql: str, params: Params = None) -> list[dict[str, Any]]:
        return self._then_compact(self.conn.fetchall(sql, params))

    def fetchone(self, sql: str, params: Params = None) -> dict[str, Any] | None:
        return self._then_compact(self.conn.fetchone(sql, params))

    def fetchval(self, sql: str, params: Params = None) -> Any:
        return self._then_compact(self.conn.fetchval(sql, params))

    def fetchrows(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        return self._then_compact(self.conn.fetchrows(sql, params))


@pytest.mark.parametrize(
    ("before", "start"),
    [
        ("none", FIRST),  # nothing compacted when the page starts
        ("first day", FIRST + timedelta(hours=25)),  # the page after the compacted day
        ("first day", FIRST + timedelta(hours=23)),  # across its end
        ("P2's first day", FIRST),  # compaction's reach past P1's first hours, which are still loose
    ],
)
def test_a_page_read_while_batches_move_its_readings_has_each_once(site: Site, before: str, start: datetime) -> None:
    """Batches moving the page's readings commit after each of the page's statements: the
    page is the one read before them (its one statement reads one snapshot)."""
    load(site)
    compact_before(site, before)
    with site.db.connect() as conn:
        p1 = conn.fetchval("SELECT id FROM points WHERE code = 'P1'")
        selection = queries.ReadingFilter(p1, start, LAST)
        expected = queries.readings_page(conn, selection, 400, None)
        racing = BatchesAfterEachStatement(conn, site.db)
        page = queries.readings_page(cast(Connection, racing), selection, 400, None)
    assert page == expected
    assert racing.moved[0] > 0 and racing.moved[1:] == [0] * (len(racing.moved) - 1)


OLD_COUNT = CUTOFF - timedelta(days=2)  # compacted below; the point has no later totalizer reading


@pytest.mark.parametrize(("count", "flags"), [(400.0, "reset"), (600.0, None)])
def test_ingest_compares_a_totalizer_with_a_compacted_previous_count(
    site: Site, count: float, flags: str | None
) -> None:
    assert site.ingest(batch([reading(1, "totalizer", OLD_COUNT, 500.0)], NOW)).status_code == 200
    compaction.compact(site.db, NOW, AGE_DAYS)
    assert site.rows("SELECT COUNT(*) AS n FROM readings") == [{"n": 0}]  # the previous count is compacted only
    assert site.ingest(batch([reading(2, "totalizer", NOW, count)], NOW)).status_code == 200
    assert site.rows("SELECT value, flags FROM readings") == [{"value": count, "flags": flags}]


LATE_READING = st.tuples(
    st.sampled_from(["P1", "P2"]),
    st.integers(0, int((LAST - FIRST).total_seconds()) - 1),  # seconds past FIRST, compacted hours included
    st.sampled_from(["flow", "totalizer", "level"]),
    st.floats(0, 1000, allow_nan=False).map(lambda value: round(value, 3)),
)


def summaries_of(site: Site) -> list[dict[str, Any]]:
    """Every hourly summary, sums rounded (their order of addition varies)."""
    rows = site.rows(
        "SELECT p.code, h.* FROM readings_hourly h JOIN points p ON p.id = h.point_id ORDER BY p.code, h.hour"
    )
    return [
        {name: round(value, 9) if isinstance(value, float) else value for name, value in row.items()} for row in rows
    ]


@pytest.fixture
def compacted(site: Site) -> Site:
    """:func:`load`'s readings with every hour before CUTOFF compacted and the summaries caught up."""
    load(site)
    compaction.compact(site.db, NOW, AGE_DAYS)
    one_pass(site.db, NOW)
    return site


@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(late=st.lists(LATE_READING, min_size=1, max_size=40), limit=st.integers(1, 6))
def test_the_worker_refreshes_many_points_runs_in_one_statement_as_each_run_alone(
    compacted: Site, late: list[tuple[str, int, str, float]], limit: int
) -> None:
    """Late readings of both points, in compacted hours and loose ones, mark runs of hours that
    the worker refreshes ``limit`` marks at a time, all of a batch's runs in one statement
    (``rollup.refresh_ranges``): the summaries equal those of each point refreshed from scratch
    on its own, compacted readings included."""
    seq = compacted.rows("SELECT COUNT(*) AS n FROM readings")[0]["n"] + 10**6
    readings = [
        reading(seq + n, variable, FIRST + timedelta(seconds=second), value, point=point)
        for n, (point, second, variable, value) in enumerate(late)
    ]
    assert compacted.ingest(batch(readings, NOW)).status_code == 200
    with compacted.db.transaction() as conn:
        while rollup.catch_up(conn, limit) == limit:
            pass
    in_batches = summaries_of(compacted)
    with compacted.db.transaction() as conn:
        conn.execute("DELETE FROM readings_hourly")
        for point_id in (row["id"] for row in conn.fetchall("SELECT id FROM points WHERE code IN ('P1', 'P2')")):
            rollup.refresh_range(conn, point_id, FIRST.replace(minute=0, second=0, microsecond=0), LAST)
    assert in_batches == summaries_of(compacted)
