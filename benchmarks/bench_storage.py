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
- a probe of the compact layout the issue proposes for old data (one row per point,
  variable and hour: the minutes present as a 64-bit mask and the values as an array; not
  implemented in Caudal): its bytes per reading, measured on the same rows.

``CAUDAL_BENCH_STORAGE_POINTS`` and ``CAUDAL_BENCH_STORAGE_DAYS`` set the size (default 8
points x 30 days: 1,036,800 readings per round).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

from benchmarks.databases import ADMIN_URL, postgres_measurable, temporary_database
from benchmarks.figures import Figures, median_seconds
from central.db import Connection, Database, migrate, open_database
from central.telemetry.ingest import COLUMNS

POINTS = int(os.environ.get("CAUDAL_BENCH_STORAGE_POINTS", "8"))
DAYS = int(os.environ.get("CAUDAL_BENCH_STORAGE_DAYS", "30"))
ROUNDS = 3
RUNS = 7
BATCH_MINUTES = 10
PAYLOAD_BYTES = 16  # timestamp + double precision value
START = datetime(2026, 1, 1, tzinfo=UTC)
VARIABLES = (("flow", "L/s"), ("totalizer", "m3"), ("level", "m"))


def rows(point_ids: list[int], minutes: int) -> Iterator[tuple]:
    """Every reading, ten-minute batches of one point after another (a fleet's write order)."""
    received = START + timedelta(minutes=minutes)
    for batch in range(0, minutes, BATCH_MINUTES):
        for gateway, point_id in enumerate(point_ids, start=1):
            for minute in range(batch, min(batch + BATCH_MINUTES, minutes)):
                ts = START + timedelta(minutes=minute)
                values = (8.0 + minute % 7 * 0.37, 1000.0 + minute * 0.51, 30.0 + minute % 11 / 10)
                for index, ((variable, unit), value) in enumerate(zip(VARIABLES, values, strict=True)):
                    yield (point_id, ts, variable, value, None, unit, "good", None, gateway, minute * 3 + index,
                           received)


def load(db: Database) -> tuple[list[int], int, float]:
    """The points and their readings; returns the point ids, the rows loaded and the COPY's seconds."""
    with db.transaction() as conn:
        for index in range(POINTS):
            conn.execute("INSERT INTO points (code, name, kind, created_at, updated_at)"
                         " VALUES (:c, :c, 'subterranea', :now, :now)", {"c": f"S{index}", "now": START})
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
        " UNION SELECT CAST(:t AS regclass)) AS parts", {"t": table})
    assert row is not None
    return int(row["heap"]), int(row["indexes"]), int(row["total"])


def compact_probe_bytes(conn: Connection) -> int:
    """Total bytes of the readings as one row per point, variable and hour (minutes mask + values)."""
    conn.execute("CREATE TABLE readings_compact_probe AS SELECT point_id, CAST(date_trunc('hour', ts) AS timestamptz)"
                 " AS hour, CAST(array_position(ARRAY['flow', 'totalizer', 'level'], variable) AS smallint) AS variable,"
                 " CAST(SUM(CAST(1 AS bigint) << CAST(extract(minute FROM ts) AS int)) AS bigint) AS minutes_mask,"
                 " array_agg(value ORDER BY ts) AS vals FROM readings GROUP BY 1, 2, 3")
    conn.execute("ALTER TABLE readings_compact_probe ADD PRIMARY KEY (point_id, hour, variable)")
    conn.execute("VACUUM ANALYZE readings_compact_probe")
    total = sizes(conn, "readings_compact_probe")[2]
    conn.execute("DROP TABLE readings_compact_probe")
    return total


def range_query(conn: Connection, point_id: int, start: datetime, end: datetime) -> Callable[[], object]:
    return lambda: conn.fetchall("SELECT ts, variable, value, quality FROM readings WHERE point_id = :p"
                                 " AND ts >= :s AND ts < :e ORDER BY ts, variable",
                                 {"p": point_id, "s": start, "e": end})


def one_round(db: Database) -> dict[str, float]:
    point_ids, count, copy_s = load(db)
    with db.connect() as conn:  # autocommit: VACUUM cannot run in a transaction
        conn.execute("VACUUM ANALYZE readings")
        heap, indexes, total = sizes(conn, "readings")
        compact = compact_probe_bytes(conn)
        middle = point_ids[len(point_ids) // 2]
        day = median_seconds(range_query(conn, middle, START + timedelta(days=DAYS // 2), START + timedelta(days=DAYS // 2 + 1)), RUNS)
        month = median_seconds(range_query(conn, middle, START, START + timedelta(days=min(DAYS, 30))), RUNS)
    figures = {"readings": count, "copy readings/s": count / copy_s, "heap B": heap / count, "index B": indexes / count,
               "total B": total / count, "compact B": compact / count, "day ms": day * 1000, "month ms": month * 1000}
    print("   " + "  ".join(f"{name} {value:,.1f}" for name, value in figures.items()))
    return figures


def main() -> Figures | None:
    if not postgres_measurable():
        return None
    print(f"   {POINTS} points x 3 variables x 1/min x {DAYS} days by COPY per round, fresh database each round,"
          f" {ROUNDS} rounds; query times: median of {RUNS} warm runs")
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
    figures.ratio("bytes per reading (heap + indexes + TOAST) / payload (goal: <= 40 B)", column["total B"],
                  [PAYLOAD_BYTES] * ROUNDS)
    for name, what in (("heap B", "heap bytes per reading"), ("index B", "index bytes per reading"),
                       ("copy readings/s", "COPY readings/s"), ("day ms", "one point's day (4,320 rows) ms"),
                       ("month ms", f"one point's {month_days} days ({month_days * 4320:,} rows) ms")):
        figures.value(what, column[name])
    figures.ratio("compact layout probe (point, variable, hour; values array) bytes per reading / payload",
                  column["compact B"], [PAYLOAD_BYTES] * ROUNDS)
    return figures


if __name__ == "__main__":
    main()
