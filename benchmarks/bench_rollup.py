"""The rollup worker's pass against the history kept: a pass reads the hours it refreshes.

Issue 16 (goals 1 and 4). On a temporary PostgreSQL database, ``POINTS`` points with one-minute
flow, totalizer, level and water-table readings: first ``DAYS_FIRST`` days, then ``DAYS_MORE``
days more, as a server's history grows while the fleet's marks per pass do not. At each size,
``ROUNDS`` rounds of ``PASSES`` passes; each pass, in a transaction rolled back afterwards,
marks one hour of ``MARKS`` points (the worker's batch, ``central.telemetry.rollup_worker.BATCH``)
and runs the worker's batch (``rollup.catch_up``). Figures per pass: the CPU of PostgreSQL's
backend and of this process; the same-round baseline is a raw SELECT of the rows the pass
reads (those points' readings of that hour, fetched; ``prepare=False``, as psql runs it).

Ratios: the pass / the raw read (what the refresh, the marks and the changed hours cost beyond
reading the rows), and the pass with the larger history / with the smaller (goal: about 1, the
pass does not grow with the history). Before 8f2f3a0 the refresh read all of ``readings``, every
partition, on every pass: this benchmark with 0c4c6ed's ``rollup.py`` measured 155 and 531 ms of
CPU per pass at 1.7 and 6.9 million readings stored (7.0 and 23.6 times the raw read; 3.3
times more for 4 times the history), against 31 and 36 ms with 8f2f3a0's, in the same hour
(``docs/almacenamiento.md``).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import psycopg

from benchmarks.databases import ADMIN_URL, postgres_measurable, temporary_database
from benchmarks.figures import Figures, spread
from benchmarks.procstat import process_cpu_s
from central.db import Connection, Database, migrate, open_database
from central.telemetry import rollup
from central.telemetry.rollup_worker import BATCH

POINTS = 300
MARKS = BATCH
DAYS_FIRST, DAYS_MORE = 1, 3
ROUNDS = 3
PASSES = 20
START = datetime(2026, 9, 1, tzinfo=UTC)
HOUR = START + timedelta(hours=12)  # marked in every pass: stored at both sizes
VARIABLES = ("flow", "totalizer", "level", "water_table")


def fill(db: Database, first_day: int, days: int) -> int:
    """``days`` days of every point's readings from day ``first_day``, then ANALYZE (as autovacuum
    would); how many readings are stored."""
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO readings (point_id, ts, variable, value, unit, quality, received_at)"
            " SELECT p.id, CAST(:start AS TIMESTAMPTZ) + m * interval '1 minute', v.variable,"
            " CASE v.variable WHEN 'totalizer' THEN 1000 + m * 0.5 ELSE 8 + m % 7 END, 'x', 'good', :start"
            " FROM points p, generate_series(CAST(:first AS INTEGER), CAST(:last AS INTEGER)) m,"
            " unnest(CAST(:variables AS TEXT[])) v (variable)",
            {
                "start": START,
                "first": first_day * 1440,
                "last": (first_day + days) * 1440 - 1,
                "variables": list(VARIABLES),
            },
        )
    with db.connect() as conn:
        conn.execute("ANALYZE readings")
        return int(conn.fetchval("SELECT COUNT(*) FROM readings"))


def seed(db: Database) -> list[int]:
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO points (code, name, kind, created_at, updated_at)"
            " SELECT 'P' || n, 'P' || n, 'subterranea', :now, :now"
            " FROM generate_series(1, CAST(:points AS INTEGER)) n",
            {"now": START, "points": POINTS},
        )
        return [row["id"] for row in conn.fetchall("SELECT id FROM points ORDER BY id LIMIT :n", {"n": MARKS})]


def one_pass(conn: Connection, point_ids: list[int]) -> None:
    """Mark the hour of ``point_ids`` as ingest does, then the worker's batch."""
    rollup.mark(conn, [rollup.StaleHours(point_id, HOUR, HOUR + rollup.HOUR) for point_id in point_ids])
    assert rollup.catch_up(conn, MARKS) == MARKS


def timed_passes(db: Database, point_ids: list[int]) -> float:
    """CPU seconds (backend and this process) per pass, each pass rolled back."""
    total = 0.0
    for _ in range(PASSES):
        with db.connect() as conn:
            pid = conn.fetchval("SELECT pg_backend_pid()")
            conn.execute("BEGIN")
            started, own = process_cpu_s(pid), time.process_time()
            one_pass(conn, point_ids)
            total += process_cpu_s(pid) - started + time.process_time() - own
            conn.execute("ROLLBACK")
    return total / PASSES


def timed_raw_reads(url: str, point_ids: list[int]) -> float:
    """CPU seconds (backend and this process) per raw SELECT of the rows a pass reads."""
    with psycopg.connect(url, prepare_threshold=None) as conn:
        pid = conn.info.backend_pid
        started, own = process_cpu_s(pid), time.process_time()
        for _ in range(PASSES):
            rows = conn.execute(
                "SELECT point_id, ts, variable, value FROM readings WHERE point_id = ANY(%s) AND ts >= %s AND ts < %s",
                (point_ids, HOUR, HOUR + rollup.HOUR),
            ).fetchall()
            assert len(rows) == MARKS * 60 * len(VARIABLES)
        return (process_cpu_s(pid) - started + time.process_time() - own) / PASSES


def measure(db: Database, url: str, point_ids: list[int]) -> tuple[list[float], list[float]]:
    passes, reads = [], []
    for _ in range(ROUNDS):
        passes.append(timed_passes(db, point_ids) * 1000)
        reads.append(timed_raw_reads(url, point_ids) * 1000)
    return passes, reads


def main() -> Figures | None:
    if not postgres_measurable(
        f"{POINTS} points x {len(VARIABLES)} variables x 1/min; a pass of {MARKS} marks (one hour each),"
        f" {PASSES} passes per round, {ROUNDS} rounds, at {DAYS_FIRST} and {DAYS_FIRST + DAYS_MORE} days; PostgreSQL"
    ):
        return None
    figures = Figures("rollup pass against the history kept")
    with temporary_database(ADMIN_URL, "caudal_bench_rollup") as url:
        db = open_database(url)
        try:
            migrate(db)
            point_ids = seed(db)
            small = fill(db, 0, DAYS_FIRST)
            passes_small, reads_small = measure(db, url, point_ids)
            large = fill(db, DAYS_FIRST, DAYS_MORE)
            passes_large, reads_large = measure(db, url, point_ids)
        finally:
            db.close()
    for rows, passes, reads in ((small, passes_small, reads_small), (large, passes_large, reads_large)):
        print(f"   {rows:>11,} readings: pass CPU ms {spread(passes)}; raw read CPU ms {spread(reads)}")
        figures.ratio(f"rollup pass / raw read of its rows, {rows:,} readings stored", passes, reads)
    figures.ratio(f"rollup pass CPU, {large:,} / {small:,} readings stored (goal: about 1)", passes_large, passes_small)
    return figures


if __name__ == "__main__":
    main()
