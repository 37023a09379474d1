"""History queries over a year of one-minute data for one point, over HTTP, idle and under a fleet's ingest.

Issue 16, goal 3. On a temporary PostgreSQL database: bench_fleet's 300 gateways and their
points, and a point Y1 with a year of one-minute flow, level and totalizer (1,576,800 rows of
``bench_aggregates.rows`` by binary COPY, foreign-key checks off: the rows name the point
just made, and checking each row triples the load; hourly summaries made as the rollup
worker makes them), then held as a server holds it today: every hour older than the default
``CAUDAL_COMPACT_AFTER_DAYS`` by the clock compacted (``readings_compact``) and the months
swept, as the rollup worker leaves them (so the server's worker finds nothing to move while
measured).
The telemetry role serves them as the modular deployment runs it for a fleet
(``docker/docker-compose.modular.yml``): bench_fleet's ``ingest+alerts role`` server (uvicorn in
its own process, the rollup worker on, alerts marked for the ``alerts`` role) beside that role
in its own process, which evaluates them. Runs before 2026-12-04 evening used the
single-process setting (alerts evaluated in the telemetry process), which on this machine
does not keep up with the fleet's rate (bench_fleet) and measured an overloaded server.
Measured, each figure of a round the median of ``REPS`` requests:

- a readings page of 1,000 rows of the year, the first page and one from mid-year by cursor:
  ``GET /readings`` over HTTP (the whole body read) against a raw psycopg SELECT of the
  same rows from the same tables (``readings`` and ``readings_compact`` unnested, each side
  in its index order and stopped at the page, ``fetchall``). Goal: <= 3;
- hourly aggregates over the year (8,760 buckets): ``GET /aggregates?bucket=hour`` against
  COUNT(*) of the same range over HTTP (``GET /readings?limit=1&total=true``, the issue's
  baseline; goal <= 2) and against the raw psycopg COUNT(*) of both tables.

The raw baselines are one-off statements (``prepare=False``: planned for their parameters
each time, as psql runs them); the table is vacuumed after the load, as autovacuum leaves it.

Idle, the pages are compared by CPU too (from ``/proc``), steadier than times on a shared
machine: a page over HTTP costs the server process's CPU and PostgreSQL's backends' (for the
bench's database), the raw SELECT this process's and the backends'.

Each idle, then under the fleet's load of goal 1: another process posts bench_fleet's
30-reading batches to the same server over 16 connections at 20,000 gateways' rate, one
batch a minute each (333 batches/s, open loop: a batch late on its schedule is sent at once;
the rate kept is printed). Runs before 2026-12-04 posted as fast as the server took them,
a saturating load beyond the fleet's. Under that load the same requests are measured twice:
sent to the server that takes the batches, and to a second telemetry replica on the same
database that takes none (nginx's ``caudal_ingest`` upstream, ``central/nginx_routes.py``). Figures are min/median/max over ``ROUNDS`` rounds, ratios taken per round.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import httpx
import psycopg

from benchmarks import bench_fleet
from benchmarks.bench_aggregates import MINUTES, NOW, START, rows
from benchmarks.databases import ADMIN_URL, BackendCpu, postgres_measurable, temporary_database
from benchmarks.figures import Figures, median_seconds, spread
from central.crypto import token_hash
from central.db import Database, open_database
from central.settings import Settings
from central.telemetry import compaction, rollup
from central.telemetry.ingest import COLUMNS
from central.telemetry.queries import READING_COLUMNS, encode_cursor, iso_z

ROUNDS = 3
REPS = 5
CPU_PAGES = 30
PAGE = 1_000
TOKEN = "bench-history-admin-token"
MIDDLE = START + timedelta(days=182, hours=7, minutes=13)
LOAD_RAMP_S = 3.0
LOAD_CAP_S = 420.0  # the load process stops by itself after this, whatever happens here
FLEET_RATE = bench_fleet.FLEET_RATE

# Run as ``python -c LAUNCH url``: the fleet's load on the server at url, until its stdin closes.
LAUNCH = "from benchmarks.bench_history import fleet_load; import sys; fleet_load(sys.argv[1])"

YEAR = {"from": iso_z(START), "to": iso_z(NOW)}
UNPACKED = (
    "SELECT c.hour + x.offset_us * interval '1 microsecond' AS ts, c.variable, x.value, x.raw_value,"
    " COALESCE(c.unit, x.unit) AS unit, COALESCE(c.quality, x.quality) AS quality, x.flags, c.hour"
    " FROM readings_compact c CROSS JOIN LATERAL unnest(c.offsets_us, c.vals, c.raw_values, c.units,"
    " c.qualities, c.flags) AS x (offset_us, value, raw_value, unit, quality, flags)"
    " WHERE c.point_id = %(p)s AND c.hour >= %(first_hour)s AND c.hour < %(end)s"
)
RANGE = "ts >= %(start)s AND ts < %(end)s"
PAGE_SQL = (
    f"SELECT {READING_COLUMNS} FROM ((SELECT {READING_COLUMNS} FROM readings WHERE point_id = %(p)s"
    f" AND {RANGE}{{after}} ORDER BY ts, variable LIMIT %(limit)s)"
    f" UNION ALL (SELECT {READING_COLUMNS} FROM ({UNPACKED}) k WHERE {RANGE}{{after}}"
    " ORDER BY hour, ts, variable LIMIT %(limit)s)) page ORDER BY ts, variable LIMIT %(limit)s"
)
COUNT_SQL = (
    f"SELECT (SELECT COUNT(*) FROM readings WHERE point_id = %(p)s AND {RANGE})"
    f" + (SELECT COUNT(*) FROM ({UNPACKED}) k WHERE {RANGE})"
)


def fleet_load(url: str) -> None:
    """Post the fleet's batches at ``FLEET_RATE``, round after round, until stdin closes (or
    ``LOAD_CAP_S``); then print the batches posted and the seconds taken (the rate kept).
    One schedule runs across the rounds: the time spent making a round's bodies is caught up
    in the next (runs before 2026-12-04 evening restarted it each round and kept 163-231/s)."""
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    started, posted, batch = time.perf_counter(), 0, 1
    while not stop.is_set() and time.perf_counter() - started < LOAD_CAP_S:
        bodies = [(gateway, bench_fleet.body(gateway, batch)) for gateway in range(bench_fleet.GATEWAYS)]
        asyncio.run(bench_fleet.post_round(url, bodies, FLEET_RATE, (started, posted)))
        posted, batch = posted + len(bodies), batch + 1
    print(posted, time.perf_counter() - started, flush=True)


@contextmanager
def fleet_loading(url: str) -> Iterator[None]:
    """The fleet's load on ``url`` while inside; prints the rate it kept up."""
    process = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        time.sleep(LOAD_RAMP_S)
        yield
    finally:
        out, _ = process.communicate("", timeout=60)
    posted, seconds = out.split()
    print(
        f"   fleet load: {int(posted):,} batches of {bench_fleet.READINGS_PER_BATCH} readings in"
        f" {float(seconds):.0f} s, {int(posted) / float(seconds):.0f} batches/s"
    )


def seed(url: str) -> int:
    """The fleet (migrated), an administrator's token, and the year of Y1; Y1's id."""
    bench_fleet.seed(url)
    db = open_database(url)
    try:
        with db.transaction() as conn:
            conn.execute(
                "INSERT INTO users (username, password_hash, is_admin, created_at) VALUES ('bench', 'x', true, :now)",
                {"now": NOW},
            )
            conn.execute(
                "INSERT INTO api_tokens (user_id, kind, token_hash, created_at) SELECT id, 'personal', :h,"
                " :now FROM users WHERE username = 'bench'",
                {"h": token_hash(TOKEN), "now": NOW},
            )
            conn.execute(
                "INSERT INTO points (code, name, kind, created_at, updated_at)"
                " VALUES ('Y1', 'year', 'subterranea', :now, :now)",
                {"now": NOW},
            )
            point_id = int(conn.fetchval("SELECT id FROM points WHERE code = 'Y1'"))
        load_year(db, point_id)
        compact_year(db)
        return point_id
    finally:
        db.close()


def load_year(db: Database, point_id: int) -> None:
    started = time.perf_counter()
    with db.transaction() as conn:
        conn.execute("SET LOCAL session_replication_role = replica")  # no per-row foreign-key check
        conn.copy_rows("readings", COLUMNS, rows(point_id))
    loaded = time.perf_counter() - started
    with db.transaction() as conn:
        rollup.refresh_range(conn, point_id, START, NOW)
    with db.connect() as conn:  # as autovacuum leaves a table at rest: statistics and the visibility map
        conn.execute("VACUUM ANALYZE readings")
        conn.execute("VACUUM ANALYZE readings_hourly")
    print(
        f"   loaded {MINUTES * 3:,} rows in {loaded:.1f} s; hourly summaries and VACUUM ANALYZE in"
        f" {time.perf_counter() - started - loaded:.1f} s"
    )


def compact_year(db: Database) -> None:
    started = time.perf_counter()
    moved = compaction.compact(
        db, datetime.now(UTC), Settings.model_fields["compact_after_days"].default, batches=10**6, per_batch=10**6
    )
    swept = compaction.sweep(db)
    with db.connect() as conn:  # as autovacuum leaves them after a compaction's deletes and inserts
        conn.execute("VACUUM ANALYZE readings")
        conn.execute("VACUUM ANALYZE readings_compact")
    print(f"   compacted {moved:,} readings and swept {len(swept)} partitions in {time.perf_counter() - started:.1f} s")


class Queries:
    """The measured requests and their raw baselines, each returning what it read (checked once)."""

    def __init__(self, http: httpx.Client, raw: psycopg.Connection, point_id: int) -> None:
        self.http, self.raw = http, raw
        self.params = {"p": point_id, "start": START, "end": NOW, "limit": PAGE, "first_hour": START}
        self.cursor = encode_cursor(MIDDLE, "level")

    def _get(self, path: str, **params: object) -> httpx.Response:
        """The answer with its whole body read (not parsed: the raw baselines parse nothing either)."""
        reply = self.http.get(f"/api/v1/points/Y1/{path}", params={**YEAR, **params})
        reply.raise_for_status()
        return reply

    def page_http(self, cursor: str | None = None) -> httpx.Response:
        return self._get("readings", limit=PAGE, **({"cursor": cursor} if cursor else {}))

    def page_raw(self, after: bool = False) -> list:
        keyset = " AND (ts, variable) > (%(after_ts)s, %(after_variable)s)" if after else ""
        first_hour = MIDDLE.replace(minute=0) if after else START
        return self.raw.execute(
            PAGE_SQL.format(after=keyset),
            {**self.params, "after_ts": MIDDLE, "after_variable": "level", "first_hour": first_hour},
            prepare=False,
        ).fetchall()

    def hourly_http(self) -> httpx.Response:
        return self._get("aggregates", bucket="hour")

    def count_http(self) -> httpx.Response:
        return self._get("readings", limit=1, total="true")

    def count_raw(self) -> int:
        return self.raw.execute(COUNT_SQL, self.params, prepare=False).fetchone()[0]

    def check(self) -> None:
        """The HTTP answers hold the baselines' rows: the comparison is of the same work."""
        for http, raw in ((self.page_http(), self.page_raw()), (self.page_http(self.cursor), self.page_raw(True))):
            assert [(item["variable"], item["value"]) for item in http.json()["items"]] == [(r[1], r[2]) for r in raw]
        assert self.count_http().json()["total"] == self.count_raw() == 3 * MINUTES
        assert len(self.hourly_http().json()["items"]) == 8_760


MEASURES: dict[str, Callable[[Queries], object]] = {
    "page 1 http": Queries.page_http,
    "page 1 raw": Queries.page_raw,
    "mid-year page http": lambda q: q.page_http(q.cursor),
    "mid-year page raw": lambda q: q.page_raw(True),
    "hourly http": Queries.hourly_http,
    "count http": Queries.count_http,
    "count raw": Queries.count_raw,
}


def measure(queries: Queries) -> dict[str, list[float]]:
    """ROUNDS rounds of every measure, in turn within a round so drift hits all alike."""
    samples: dict[str, list[float]] = {name: [] for name in MEASURES}
    for _ in range(ROUNDS):
        for name, run in MEASURES.items():
            samples[name].append(median_seconds(lambda run=run: run(queries), REPS) * 1000)
    return samples


CPU_MEASURES: dict[str, tuple[Callable[[Queries], object], bool]] = {
    "page 1 http": (Queries.page_http, True),
    "page 1 raw": (Queries.page_raw, False),
    "mid-year page http": (lambda q: q.page_http(q.cursor), True),
    "mid-year page raw": (lambda q: q.page_raw(True), False),
}


def cpu_ms(url: str, target: bench_fleet.Server, queries: Queries) -> dict[str, list[float]]:
    """CPU per page, idle (``CPU_PAGES`` pages a figure, each round): over HTTP the server
    process's and the backends', raw this process's and the backends'."""
    samples: dict[str, list[float]] = {name: [] for name in CPU_MEASURES}
    for _ in range(ROUNDS):
        for name, (run, served) in CPU_MEASURES.items():
            with BackendCpu(url) as backend:
                server, own = target.cpu_s(), time.process_time()
                for _ in range(CPU_PAGES):
                    run(queries)
                server, own = target.cpu_s() - server, time.process_time() - own
            samples[name].append(((server if served else own) + (backend.seconds or 0.0)) / CPU_PAGES * 1000)
    return samples


def report(figures: Figures, when: str, ms: dict[str, list[float]]) -> None:
    for name, values in ms.items():
        print(f"   {when:<16} {name:<18} ms {spread(values)}")
    figures.ratio(
        f"1,000-row page over a year, first page, HTTP / raw SELECT ms, {when} (goal <= 3)",
        ms["page 1 http"],
        ms["page 1 raw"],
    )
    figures.ratio(
        f"1,000-row page over a year, mid-year by cursor, HTTP / raw SELECT ms, {when} (goal <= 3)",
        ms["mid-year page http"],
        ms["mid-year page raw"],
    )
    figures.ratio(
        f"hourly aggregates over a year, HTTP / COUNT(*) over HTTP ms, {when} (goal <= 2)",
        ms["hourly http"],
        ms["count http"],
    )
    figures.ratio(f"hourly aggregates over a year, HTTP / raw COUNT(*) ms, {when}", ms["hourly http"], ms["count raw"])


def report_cpu(figures: Figures, cpu: dict[str, list[float]]) -> None:
    for name, values in cpu.items():
        print(f"   idle             {name + ' cpu':<22} ms {spread(values)}")
    for page in ("page 1", "mid-year page"):
        figures.ratio(
            f"1,000-row page over a year, {page}, CPU HTTP (server + PostgreSQL) / raw SELECT (client +"
            " PostgreSQL) ms, idle (goal <= 3)",
            cpu[f"{page} http"],
            cpu[f"{page} raw"],
        )


def main() -> Figures | None:
    if not postgres_measurable(
        f"one point, a year of one-minute flow/level/totalizer; {ROUNDS} rounds, each figure the median of"
        f" {REPS} requests; idle, then under the fleet's load of goal 1 ({FLEET_RATE:.0f} 30-reading"
        " batches/s); telemetry with alerts in their own role, as the modular deployment runs; PostgreSQL"
    ):
        return None
    figures = Figures("history queries: a year of one point")
    with temporary_database(ADMIN_URL, "caudal_bench_history") as url:
        point_id = seed(url)
        with (
            bench_fleet.server("ingest+alerts role", url) as target,
            bench_fleet.server("ingest+alerts role", url) as replica,
            bench_fleet.server("alerts role", url),
            psycopg.connect(url, autocommit=True) as raw,
        ):
            asyncio.run(
                bench_fleet.post_round(target.url, [(g, bench_fleet.body(g, 0)) for g in range(bench_fleet.GATEWAYS)])
            )
            with reading(target, raw, point_id) as queries, reading(replica, raw, point_id) as apart:
                report(figures, "idle", measure(queries))
                report_cpu(figures, cpu_ms(url, target, queries))
                with fleet_loading(target.url):
                    loaded, replica_loaded = measure(queries), measure(apart)
            report(figures, "under fleet load", loaded)
            report(figures, "under fleet load, reads on a replica of their own", replica_loaded)
    return figures


@contextmanager
def reading(server: bench_fleet.Server, raw: psycopg.Connection, point_id: int) -> Iterator[Queries]:
    """The measured requests sent to ``server``, checked once."""
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as http:
        queries = Queries(http, raw, point_id)
        queries.check()
        yield queries


if __name__ == "__main__":
    main()
