"""Aggregate queries over one year of one-minute data for one point, on both databases.

525,600 readings per variable (flow, totalizer, level: 1,576,800 rows) are bulk-loaded with
``copy_rows`` and summarised per hour (what the rollup worker maintains as data arrives).
Measured, as the aggregates route runs them (``central.telemetry.aggregates.summary``, without HTTP/JSON):
hourly buckets over the year (8,760) and daily buckets over the year (365, America/Santiago),
p50/p99 over repeated runs; the baseline is a plain ``COUNT(*)`` of the point's readings over
the same range, measured the same way, and the ratio is query p50 / baseline p50. The same
queries computed from the readings (the path for zones with half-hour offsets or odd
intervals) are timed once each, to show what the hourly summaries save.
"""

from __future__ import annotations

import math
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

from benchmarks.databases import ADMIN_URL, postgres_unreachable, temporary_database
from central.db import Database, migrate, open_database
from central.telemetry import aggregates, rollup
from central.telemetry.buckets import spans
from central.telemetry.ingest import COLUMNS
from tests.factories import add_point

START = datetime(2025, 1, 1, tzinfo=UTC)
MINUTES = 525_600
NOW = START + timedelta(minutes=MINUTES)
SANTIAGO = ZoneInfo("America/Santiago")
RUNS = 15


def rows(point_id: int) -> Iterator[tuple]:
    total = 0.0
    for minute in range(MINUTES):
        ts = START + timedelta(minutes=minute)
        flow = 10.0 + 5.0 * math.sin(minute / 500)
        total += flow * 0.06
        yield (point_id, ts, "flow", flow, None, "L/s", "good", None, 1, minute, NOW)
        yield (point_id, ts, "level", 20.0 + math.sin(minute / 1000), None, "m", "good", None, 1, minute, NOW)
        yield (point_id, ts, "totalizer", total, None, "m3", "good", None, 1, minute, NOW)


def load(db: Database) -> int:
    with db.transaction() as conn:
        point_id = add_point(conn, "Y1", NOW, name="year")
    started = time.perf_counter()
    with db.transaction() as conn:
        conn.copy_rows("readings", COLUMNS, rows(point_id))
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    with db.transaction() as conn:
        rollup.refresh_range(conn, point_id, START, NOW)
        if conn.dialect == "postgresql":
            conn.execute("ANALYZE readings")
            conn.execute("ANALYZE readings_hourly")
    print(
        f"   {db.dialect:<10} loaded {MINUTES * 3:,} rows in {loaded:.1f} s;"
        f" hourly summaries in {time.perf_counter() - started:.1f} s"
    )
    return point_id


def timed(run: Callable[[], object], times: int) -> tuple[float, float]:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, math.ceil(0.99 * len(samples)) - 1)]


def measure(db: Database) -> None:
    point_id = load(db)
    with db.connect() as conn:
        baseline = timed(
            lambda: conn.fetchval(
                "SELECT COUNT(*) FROM readings WHERE point_id = :p AND ts >= :s AND ts < :e",
                {"p": point_id, "s": START, "e": NOW},
            ),
            RUNS,
        )
        print(
            f"   {db.dialect:<10} baseline COUNT(*) over the year: p50 {baseline[0] * 1000:7.1f} ms"
            f"  p99 {baseline[1] * 1000:7.1f} ms"
        )
        for bucket in ("hour", "day"):
            buckets = spans(START, NOW, bucket, SANTIAGO, 20_000)
            p50, p99 = timed(partial(aggregates.summary, db, point_id, bucket, SANTIAGO, buckets, 60, NOW), RUNS)
            raw, _ = timed(partial(_from_readings, conn, point_id, bucket, buckets), 1)
            print(
                f"   {db.dialect:<10} {bucket:>4} buckets over the year ({len(buckets):>5}): p50 {p50 * 1000:7.1f} ms"
                f"  p99 {p99 * 1000:7.1f} ms  ratio to COUNT(*) {p50 / baseline[0]:5.2f}"
                f"  | from the readings {raw * 1000:7.0f} ms ({raw / p50:.0f}x slower)"
            )


def _from_readings(conn, point_id: int, bucket, buckets) -> list:
    start, end = buckets[0].start, buckets[-1].end
    stats = aggregates.statistics(conn, point_id, bucket, SANTIAGO, start, end, 60)
    volume = aggregates.volumes(conn, point_id, bucket, SANTIAGO, start, end, start)
    return aggregates.summarize(buckets, stats, volume, NOW, 60)


def main() -> None:
    print(f"   one point, one year of one-minute flow/totalizer/level; {RUNS} runs per query")
    with tempfile.TemporaryDirectory() as directory:
        db = open_database(f"sqlite:///{Path(directory) / 'year.db'}")
        migrate(db)
        try:
            measure(db)
        finally:
            db.close()
    if problem := postgres_unreachable():
        print(f"   {problem}")
        return
    with temporary_database(ADMIN_URL, "caudal_bench") as url:
        db = open_database(url)
        try:
            migrate(db)
            measure(db)
        finally:
            db.close()


if __name__ == "__main__":
    main()
