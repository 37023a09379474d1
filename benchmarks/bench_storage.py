"""Storage of readings on PostgreSQL: bytes per reading and range-query times (issue 16, goal 4).

Each round loads a fresh database with ``POINTS`` points x 3 variables (flow, totalizer, level)
x one reading a minute for ``DAYS`` days, by COPY (``copy_rows``, as ingest writes), in the
order a fleet writes them: ten-minute batches of one point after another, so one point's
rows are spread over the table as they are in production. The rows are the rows ingest
stores (unit and quality text, gateway and seq, received_at). After ``VACUUM ANALYZE``:

- bytes per reading: heap, indexes and the whole relation (``pg_total_relation_size``,
  TOAST included; every partition when ``readings`` is partitioned) over the rows; the
  baseline is the 16 bytes of payload (an 8-byte timestamp and an 8-byte value);
- query times, median of ``RUNS`` runs with a warm cache: one point's day and one point's
  month (three variables, ordered by time), as a plain SELECT;
- then the same rows compacted as Caudal compacts data older than ``CAUDAL_COMPACT_AFTER_DAYS``
  (``central.telemetry.compaction``: one row per point, variable and hour with arrays), to the
  end, and the emptied months of ``readings`` swept (vacuumed and reindexed) as the worker does: bytes per compacted reading (``readings_compact`` and its partitions,
  over the readings moved; goal <= 40 B), the compaction's readings/s (wall clock), and the
  readers' times on the middle point before and after: a 1,000-reading page of the API
  (``queries.readings_page``) from the middle of the range, and the hourly aggregates of the
  whole range (``aggregates.summary``, hour buckets, its summaries computed first);
- the bytes of an hourly summary row (``readings_hourly``, every point's hours summarized);
- the capacity of 2,000 wells x 3 variables x 1/min x 5 years (:func:`capacity`): readings,
  rows and bytes, compacted and as stored, from the bytes per reading measured here.

``CAUDAL_BENCH_STORAGE_POINTS`` and ``CAUDAL_BENCH_STORAGE_DAYS`` set the size (default 8
points x 30 days: 1,036,800 readings per round).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

from benchmarks.databases import ADMIN_URL, postgres_measurable, temporary_database
from benchmarks.figures import Figures, median_seconds
from central.db import Connection, Database, migrate, open_database
from central.telemetry import aggregates, compaction, partitions, queries, rollup
from central.telemetry.buckets import spans
from central.telemetry.ingest import COLUMNS

POINTS = int(os.environ.get("CAUDAL_BENCH_STORAGE_POINTS", "8"))
DAYS = int(os.environ.get("CAUDAL_BENCH_STORAGE_DAYS", "30"))
ROUNDS = 3
RUNS = 7
BATCH_MINUTES = 10
PAYLOAD_BYTES = 16  # timestamp + double precision value
START = partitions.next_month(datetime.now(UTC))  # a monthly partition of its own (created ahead), as in production
VARIABLES = (("flow", "L/s"), ("totalizer", "m3"), ("level", "m"))
AGE_DAYS = 90
PAGE = 1000
WELLS, YEARS = 2000, 5  # the capacity table's fleet


def rows(point_ids: list[int], minutes: int) -> Iterator[tuple]:
    """Every reading, ten-minute batches of one point after another (a fleet's write order)."""
    received = START + timedelta(minutes=minutes)
    for batch in range(0, minutes, BATCH_MINUTES):
        for gateway, point_id in enumerate(point_ids, start=1):
            for minute in range(batch, min(batch + BATCH_MINUTES, minutes)):
                ts = START + timedelta(minutes=minute)
                values = (8.0 + minute % 7 * 0.37, 1000.0 + minute * 0.51, 30.0 + minute % 11 / 10)
                for index, ((variable, unit), value) in enumerate(zip(VARIABLES, values, strict=True)):
                    yield (
                        point_id,
                        ts,
                        variable,
                        value,
                        None,
                        unit,
                        "good",
                        None,
                        gateway,
                        minute * 3 + index,
                        received,
                    )


def load(db: Database) -> tuple[list[int], int, float]:
    """The points and their readings; returns the point ids, the rows loaded and the COPY's seconds."""
    with db.transaction() as conn:
        partitions.ensure_ahead(conn, datetime.now(UTC))
        for index in range(POINTS):
            conn.execute(
                "INSERT INTO points (code, name, kind, created_at, updated_at)"
                " VALUES (:c, :c, 'subterranea', :now, :now)",
                {"c": f"S{index}", "now": START},
            )
        point_ids = [row["id"] for row in conn.fetchall("SELECT id FROM points ORDER BY id")]
    minutes = DAYS * 24 * 60
    started = time.perf_counter()
    with db.transaction() as conn:
        conn.copy_rows("readings", COLUMNS, rows(point_ids, minutes))
    return point_ids, POINTS * minutes * len(VARIABLES), time.perf_counter() - started


def sizes(conn: Connection, table: str) -> tuple[int, int, int]:
    """Heap, indexes and total bytes of ``table`` and, if partitioned, all its partitions."""
    row = conn.fetchone(
        "SELECT SUM(pg_relation_size(relid)) AS heap, SUM(pg_indexes_size(relid)) AS indexes,"
        " SUM(pg_total_relation_size(relid)) AS total FROM (SELECT relid FROM pg_partition_tree(CAST(:t AS regclass))"
        " UNION SELECT CAST(:t AS regclass)) AS parts",
        {"t": table},
    )
    assert row is not None
    return int(row["heap"]), int(row["indexes"]), int(row["total"])


def compact_all(db: Database) -> tuple[int, float]:
    """Compact every loaded reading as the rollup worker would once all are older than the age,
    then sweep the months it emptied; (readings moved, seconds of both)."""
    started = time.perf_counter()
    later = partitions.next_month(START + timedelta(days=DAYS)) + timedelta(days=AGE_DAYS)  # every month passed
    moved = compaction.compact(db, later, AGE_DAYS, batches=10**9)
    compaction.sweep(db)
    return moved, time.perf_counter() - started


def summarize_hours(db: Database, point_id: int) -> None:
    """The hourly summaries of the point (ingest would have marked them; COPY does not)."""
    with db.transaction() as conn:
        rollup.refresh_range(conn, point_id, START, START + timedelta(days=DAYS))


def readers(db: Database, point_id: int) -> dict[str, float]:
    """Median seconds of a 1,000-reading page from the middle of the range and of the hourly
    aggregates of the whole range, for one point."""
    middle, end = START + timedelta(days=DAYS / 2), START + timedelta(days=DAYS)
    selection = queries.ReadingFilter(point_id, middle, end)
    hours = spans(START, end, "hour", UTC, 24 * DAYS)

    def page() -> object:
        with db.connect() as conn:
            return queries.readings_page(conn, selection, PAGE, None)

    return {
        "page": median_seconds(page, RUNS),
        "hourly": median_seconds(lambda: aggregates.summary(db, point_id, "hour", UTC, hours, 60, end), RUNS),
    }


def range_query(conn: Connection, point_id: int, start: datetime, end: datetime) -> Callable[[], object]:
    return lambda: conn.fetchall(
        "SELECT ts, variable, value, quality FROM readings WHERE point_id = :p"
        " AND ts >= :s AND ts < :e ORDER BY ts, variable",
        {"p": point_id, "s": start, "e": end},
    )


def one_round(db: Database) -> dict[str, float]:
    point_ids, count, copy_s = load(db)
    middle = point_ids[len(point_ids) // 2]
    for point_id in point_ids:
        summarize_hours(db, point_id)
    with db.connect() as conn:  # autocommit: VACUUM cannot run in a transaction
        conn.execute("VACUUM ANALYZE readings")
        conn.execute("VACUUM ANALYZE readings_hourly")
        heap, indexes, total = sizes(conn, "readings")
        hourly_b = sizes(conn, "readings_hourly")[2] / conn.fetchval("SELECT COUNT(*) FROM readings_hourly")
        day = median_seconds(
            range_query(conn, middle, START + timedelta(days=DAYS // 2), START + timedelta(days=DAYS // 2 + 1)), RUNS
        )
        month = median_seconds(range_query(conn, middle, START, START + timedelta(days=min(DAYS, 30))), RUNS)
    loose = readers(db, middle)
    moved, compact_s = compact_all(db)
    with db.connect() as conn:
        conn.execute("VACUUM ANALYZE readings_compact")
        packed_total, left = sizes(conn, "readings_compact")[2], sizes(conn, "readings")[2]
        packed_rows = conn.fetchval("SELECT COUNT(*) FROM readings_compact")
    packed = readers(db, middle)
    figures = {
        "readings": count,
        "copy readings/s": count / copy_s,
        "heap B": heap / count,
        "index B": indexes / count,
        "total B": total / count,
        "day ms": day * 1000,
        "month ms": month * 1000,
        "compact B": packed_total / moved,
        "left B": left / count,
        "compacted": moved,
        "compact rows": packed_rows,
        "compact readings/s": moved / compact_s,
        "page ms": loose["page"] * 1000,
        "compact page ms": packed["page"] * 1000,
        "hourly ms": loose["hourly"] * 1000,
        "compact hourly ms": packed["hourly"] * 1000,
        "hourly row B": hourly_b,
    }
    print("   " + "  ".join(f"{name} {value:,.1f}" for name, value in figures.items()))
    return figures


def capacity(compact_b: float, stored_b: float, wells: int = WELLS, years: int = YEARS) -> list[tuple[str, str]]:
    """The capacity table of ``wells`` x 3 variables x one reading a minute for ``years``
    (365.25-day years), at the bytes per reading measured: (figure, value) rows."""
    minutes = round(years * 365.25 * 24 * 60)
    readings = wells * len(VARIABLES) * minutes
    rows = wells * len(VARIABLES) * minutes // 60
    return [
        ("readings", f"{readings:,}"),
        ("compacted rows (point, variable, hour)", f"{rows:,}"),
        ("compacted bytes", f"{readings * compact_b / 1e12:,.2f} TB"),
        ("as stored (readings rows)", f"{readings:,} rows, {readings * stored_b / 1e12:,.2f} TB"),
    ]


def main() -> Figures | None:
    if not postgres_measurable(
        f"{POINTS} points x 3 variables x 1/min x {DAYS} days by COPY per round, fresh database each round,"
        f" {ROUNDS} rounds; query times: median of {RUNS} warm runs"
    ):
        return None
    rounds = []
    for _ in range(ROUNDS):
        with temporary_database(ADMIN_URL, "caudal_bench_storage") as url:
            db = open_database(url)
            try:
                migrate(db)
                rounds.append(one_round(db))
            finally:
                db.close()
    figures = Figures(f"storage of {rounds[0]['readings']:,.0f} readings on PostgreSQL")
    column = {name: [r[name] for r in rounds] for name in rounds[0]}
    month_days = min(DAYS, 30)
    figures.ratio(
        "bytes per reading (heap + indexes + TOAST) / payload (goal: <= 40 B)",
        column["total B"],
        [PAYLOAD_BYTES] * ROUNDS,
    )
    for name, what in (
        ("heap B", "heap bytes per reading"),
        ("index B", "index bytes per reading"),
        ("copy readings/s", "COPY readings/s"),
        ("day ms", "one point's day (4,320 rows) ms"),
        ("month ms", f"one point's {month_days} days ({month_days * 4320:,} rows) ms"),
    ):
        figures.value(what, column[name])
    figures.ratio(
        f"compacted bytes per reading / payload (goal: <= 40 B; {AGE_DAYS}-day age, whole hours)",
        column["compact B"],
        [PAYLOAD_BYTES] * ROUNDS,
    )
    figures.ratio("compacted bytes per reading / as stored", column["compact B"], column["total B"])
    figures.ratio("readings compacted / loaded (nothing left behind)", column["compacted"], column["readings"])
    for name, what in (
        ("left B", "readings partitions after compaction and sweep, bytes per reading loaded"),
        ("compact readings/s", "compaction readings/s (wall clock)"),
        ("hourly row B", "readings_hourly bytes per row (one per point and hour)"),
    ):
        figures.value(what, column[name])
    figures.ratio(
        f"{PAGE:,}-reading page from the middle, compacted / as stored ms", column["compact page ms"], column["page ms"]
    )
    figures.ratio(
        f"hourly aggregates of {DAYS} days, compacted / as stored ms", column["compact hourly ms"], column["hourly ms"]
    )
    compact_b, stored_b = (statistics.median(column[name]) for name in ("compact B", "total B"))
    for what, value in capacity(compact_b, stored_b):
        figures.rows.append((f"capacity {WELLS:,} wells x 3 variables x 1/min x {YEARS} years: {what}", value, "", ""))
        print(f"   capacity: {what}: {value}")
    return figures


if __name__ == "__main__":
    main()
