"""Ingest throughput through the HTTP API, against a raw bulk load of the same rows.

The server is a separate process started as an operator starts it (``caudal central
serve``, background workers on), so it shares neither the GIL nor the heap with the
client; batches are posted with httpx (pre-serialised JSON, gzip like the edge sends).
Readings are flow, totalizer and level every minute for a point with a sensor depth and a
cut-off, so processing (cut-off, derived water table, reset check) is part of the measured
path.

Baseline, in the same run and the same table (same unique key): the rows ingest ends up
storing, in the order it stored them, loaded raw through the same adapter call ingest
uses (binary COPY on PostgreSQL, executemany INSERT on SQLite), one transaction per batch
of the same size, interleaved with the ingest batches on a second point. The two points
swap roles every batch, so where a point's rows sit in the index cannot favour either
side. A third point, after both in key order, holds a day of readings so that neither
appends to the rightmost leaf page of the primary-key index: PostgreSQL inserts there without descending
the tree and splits it unevenly, a position no point has in production, where many
points interleave. Measured with 5,000-reading COPYs into four points followed in key
order by a fifth (25 rounds): when the fifth holds one reading, the point just before it
COPYs 9% faster than the other three (36.8 vs 40.1-40.4 ms median), because its rows land
on the rightmost page beside that reading; with 400 or more readings on the fifth, all
four match (39.8-40.2 ms). With one reading there, as before, the baseline had that
position.
PostgreSQL: a temporary database on the machine's server (CAUDAL_TEST_POSTGRES_URL or
postgresql://postgres@127.0.0.1:5432/postgres), dropped at the end.
"""

from __future__ import annotations

import gzip
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import httpx

from benchmarks.databases import ADMIN_URL, postgres_unreachable, temporary_database
from benchmarks.servers import stop, wait_ready
from caudal.demo_central import LAUNCH, server_environment
from central.crypto import token_hash
from central.db import Database, migrate, open_database
from central.telemetry.ingest import COLUMNS
from protocols.uplink import INGEST_PATH
from tests.ports import free_port

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
READY_TIMEOUT_S = 40.0
TOKEN = "bench-gateway-token"
VARIABLES = (("flow", "L/s"), ("totalizer", "m3"), ("level", "m"))
# (readings per batch, batches): enough that the rollup worker's passes (every 5 s) and the
# alert evaluations, which share the machine with ingest as in production, fall evenly on
# each figure; 100,000 minutes of data, inside the DAYS of the series
PLAN = ((1000, 100), (5000, 40))
DAYS = 90
ROLLUP_WAIT_S = 120.0
EDGE_READINGS = 1440  # several leaf pages of the primary key: the rightmost one holds only B3


class Point(NamedTuple):
    code: str
    id: int


def seed(db: Database) -> tuple[Point, Point]:
    """Points B1 and B2 (depth 80 m, cut-off 0.3 L/s; each ingested and loaded raw in turn),
    point B3 with a day of readings (the right edge of the index), the gateway."""
    with db.transaction() as conn:
        for code in ("B1", "B2", "B3"):
            conn.execute(
                "INSERT INTO points (code, name, kind, sensor_depth_m, flow_cutoff_lps, created_at,"
                " updated_at) VALUES (:c, :c, 'subterranea', 80, 0.3, :now, :now)",
                {"c": code, "now": NOW},
            )
        edge = conn.fetchval("SELECT id FROM points WHERE code = 'B3'")
        conn.copy_rows(
            "readings",
            COLUMNS,
            [
                (edge, NOW - timedelta(minutes=minute), "flow", 1.0, None, "L/s", "good", None, None, None, NOW)
                for minute in range(EDGE_READINGS)
            ],
        )
        conn.execute(
            "INSERT INTO gateways (name, token_hash, token_created_at, created_at) VALUES ('gw-bench', :h, :now, :now)",
            {"h": token_hash(TOKEN), "now": NOW},
        )
        conn.execute(
            "INSERT INTO gateway_points (gateway_id, point_id) SELECT g.id, p.id FROM gateways g, points p"
            " WHERE p.code IN ('B1', 'B2')"
        )
        ids = {r["code"]: r["id"] for r in conn.fetchall("SELECT id, code FROM points")}
    return Point("B1", ids["B1"]), Point("B2", ids["B2"])


def readings(first_minute: int, count: int, point: str) -> list[dict]:
    out = []
    for index in range(first_minute * 3, first_minute * 3 + count):
        minute, (variable, unit) = divmod(index, 3)[0], VARIABLES[index % 3]
        ts = NOW - timedelta(days=DAYS) + timedelta(minutes=minute)
        value = {
            "flow": 10 + 5 * math.sin(minute / 300),
            "totalizer": 1000 + minute * 0.6,
            "level": 30 + math.sin(minute / 900),
        }[variable]
        out.append(
            {
                "seq": index,
                "device": "dev-1",
                "point": point,
                "variable": variable,
                "ts": ts.isoformat().replace("+00:00", "Z"),
                "value": value,
                "unit": unit,
                "quality": "good",
            }
        )
    return out


def body(batch: list[dict]) -> bytes:
    sent_at = NOW.isoformat().replace("+00:00", "Z")
    document = {
        "schema": 1,
        "gateway": "gw-bench",
        "sent_at": sent_at,
        "readings": batch,
        "agent": {"version": "bench", "buffer_depth": 0},
    }
    return gzip.compress(json.dumps(document).encode(), compresslevel=1)


def stored_rows(db: Database, point_id: int, baseline_point: int, start: datetime, end: datetime) -> list[tuple]:
    """What ingest stored for [start, end), in the order it stored them (a derived water table
    after its level), re-pointed at the baseline point."""
    with db.connect() as conn:
        rows = conn.fetchall(
            f"SELECT {', '.join(COLUMNS)} FROM readings WHERE point_id = :p AND ts >= :s AND ts < :e"
            " ORDER BY ts, seq NULLS LAST",
            {"p": point_id, "s": start, "e": end},
        )
    return [(baseline_point, *list(row.values())[1:]) for row in rows]


@contextmanager
def serving(database_url: str) -> Iterator[str]:
    """``caudal central serve`` on a free port of 127.0.0.1 until the block exits."""
    port = free_port()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-c", LAUNCH, "central", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=server_environment({"CAUDAL_DATABASE_URL": database_url}),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(url, process, READY_TIMEOUT_S, log)
            yield url
        finally:
            stop(process)


HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json", "Content-Encoding": "gzip"}


def one_batch(
    client: httpx.Client, db: Database, points: tuple[Point, Point], minute: int, size: int
) -> tuple[float, float]:
    """(ingest seconds, raw load seconds) for one batch of ``size`` readings from ``minute``,
    ingested into the first point and loaded raw into the second."""
    ingested, loaded = points
    payload = readings(minute, size, ingested.code)
    compressed = body(payload)
    started = time.perf_counter()
    reply = client.post(INGEST_PATH, content=compressed, headers=HEADERS)
    ingest_s = time.perf_counter() - started
    assert reply.status_code == 200 and reply.json()["stored"] == size, reply.text
    first = datetime.fromisoformat(payload[0]["ts"])
    end = datetime.fromisoformat(payload[-1]["ts"]) + timedelta(seconds=1)
    rows = stored_rows(db, ingested.id, loaded.id, first, end)
    started = time.perf_counter()
    with db.transaction() as conn:
        conn.copy_rows("readings", COLUMNS, rows)
    return ingest_s, time.perf_counter() - started


def run(label: str, database_url: str) -> None:
    db = open_database(database_url)
    try:
        migrate(db)
        points = seed(db)
        with serving(database_url) as url, httpx.Client(base_url=url, timeout=60) as client:
            measure(label, client, db, points)
            print(
                f"   {label:<10} hourly summaries caught up {rollup_lag(db):.1f} s after the last batch"
                " (the rollup worker, off the request path)"
            )
    finally:
        db.close()


def rollup_lag(db: Database) -> float:
    """Seconds until the rollup worker has refreshed every hour ingest marked stale."""
    started = time.monotonic()
    while time.monotonic() - started < ROLLUP_WAIT_S:
        with db.connect() as conn:
            if not conn.fetchval("SELECT COUNT(*) FROM rollup_pending"):
                return time.monotonic() - started
        time.sleep(0.1)
    raise RuntimeError(f"the rollup worker left marks after {ROLLUP_WAIT_S:g} s")


def measure(label: str, client: httpx.Client, db: Database, points: tuple[Point, Point]) -> None:
    raw = "COPY" if db.dialect == "postgresql" else "executemany"
    minute = 0
    for size, batches in PLAN:
        times = []
        for batch in range(batches):
            times.append(one_batch(client, db, points if batch % 2 == 0 else points[::-1], minute, size))
            minute += size // 3 + 1
        ingest_s, raw_s = (sum(column) for column in zip(*times, strict=True))
        median = statistics.median(raw_time / ingest_time for ingest_time, raw_time in times)
        total = size * batches
        print(
            f"   {label:<10} batches of {size:>4}: ingest {total / ingest_s:>7,.0f} readings/s"
            f" | raw {raw} of the same rows {total / raw_s:>7,.0f} readings/s"
            f" | ratio {raw_s / ingest_s:.2f} (median of per-batch ratios {median:.2f})"
        )


def main() -> None:
    print(
        "   ingest over HTTP (`caudal central serve` in its own process, httpx, gzip bodies) vs a raw bulk load"
        " of the same rows"
        " (ratio = raw time / ingest time; goal on PostgreSQL >= 0.5)"
    )
    with tempfile.TemporaryDirectory() as directory:
        run("sqlite", f"sqlite:///{Path(directory) / 'bench.db'}")
    if problem := postgres_unreachable():
        print(f"   {problem}")
        return
    with temporary_database(ADMIN_URL, "caudal_bench") as url:
        run("postgresql", url)


if __name__ == "__main__":
    main()
