"""The console's Resumen with 500 points and a year of data, on both databases.

Loaded in one transaction per table, into the migrated schema (indexes built after each
bulk load, the same definitions): 500 points with coordinates, each with a DGA
configuration and a year of hourly DGA slots in the ledger (4,380,000 rows, made by the
database from a table of the year's hours, hour after hour as the worker writes them; the
semáforo looks up each work's last due slot among them), a year of daily
flow/totalizer/level readings (547,500 rows, COPY on PostgreSQL and executemany on SQLite:
the Resumen reads none of them, they give the tables their size), their latest values
(1,500 rows) and 100 open alerts.

The app runs in its own process under uvicorn, as ``caudal central serve`` runs it, and
answers each request with a Server-Timing header: the time inside the app (authentication,
queries, rendering). Measured as an administrator who sees every point: ``GET /ui/`` (the
whole Resumen: points, latest values, open alerts and semáforo, rendered) and, as the
same-run baseline, ``GET /api/v1/latest?limit=500`` (the API's latest values of the same
points). Each of ROUNDS rounds makes REQUESTS requests of each and takes their p95, of the
server time and of the time over HTTP; printed are the min, median and max of the rounds'
p95 and of the per-round ratio. Goal: Resumen p95 server time < 300 ms.
"""

from __future__ import annotations

import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from benchmarks.bench_fleet import READY_TIMEOUT_S
from benchmarks.databases import ADMIN_URL, postgres_unreachable, temporary_database
from benchmarks.figures import Figures, spread
from benchmarks.servers import wait_ready
from central.app import create_app
from central.core.auth.models import PersonalTokenCreate, User
from central.core.auth.service import create_personal_token
from central.db import Connection, Database, migrate, open_database
from central.settings import Settings
from central.telemetry.ingest import COLUMNS
from protocols.clock import ManualClock
from tests.ports import free_port

POINTS = 500
NOW = datetime(2026, 11, 28, 13, 20, tzinfo=UTC)
YEAR_AGO = NOW - timedelta(days=365)
ROUNDS, REQUESTS = 5, 20
GOAL_MS = 300.0
LAUNCH = "from benchmarks.bench_console import serve; import sys; serve(sys.argv[1], int(sys.argv[2]))"


def _points(db: Database) -> list[int]:
    with db.transaction() as conn:
        for n in range(POINTS):
            conn.execute(
                "INSERT INTO points (code, name, kind, latitude, longitude, water_right_lps, created_at,"
                " updated_at) VALUES (:c, :n, 'subterranea', :lat, :lon, 20, :now, :now)",
                {
                    "c": f"OB-{n // 100 + 1:04d}-{n:03d}",
                    "n": f"Pozo {n}",
                    "lat": -33 - n / 1000,
                    "lon": -70 - n / 1000,
                    "now": YEAR_AGO,
                },
            )
        ids = [row["id"] for row in conn.fetchall("SELECT id FROM points ORDER BY id")]
        for point_id in ids:
            conn.execute(
                "INSERT INTO compliance_configs (point_id, regulator, mode, config, secret, created_at,"
                " updated_at, updated_by) VALUES (:p, 'dga', 'live', '{}', '', :now, :now, 'bench')",
                {"p": point_id, "now": YEAR_AGO},
            )
    return ids


_LEDGER_FROM_HOURS = (
    "INSERT INTO compliance_submissions (point_id, regulator, slot, mode, state, reasons, note, attempt_count,"
    " created_at, updated_at) SELECT p.id, 'dga', h.slot, 'live',"
    " CASE WHEN h.slot = :last AND p.id % 3 = 0 THEN 'pending' ELSE 'accepted' END, '[]', '', 1, h.slot, h.slot"
    " FROM bench_hours h CROSS JOIN points p"
)


def _ledger(db: Database) -> float:
    """Every work's DGA slot of every hour of the year, the last one pending for a third of
    them; seconds taken. The database makes the rows from a table of the year's hours (hour
    after hour, as the worker writes them): no per-row work in Python, the slowest part of
    loading the ledger's millions of rows on SQLite."""
    started = time.perf_counter()
    hours = int((NOW - YEAR_AGO) / timedelta(hours=1))
    with db.transaction() as conn, _indexed_after(conn, "compliance_submissions"):
        conn.execute("CREATE TEMPORARY TABLE bench_hours (slot TIMESTAMPTZ NOT NULL)")
        conn.copy_rows("bench_hours", ("slot",), ((YEAR_AGO + timedelta(hours=hour),) for hour in range(hours)))
        conn.execute(_LEDGER_FROM_HOURS, {"last": YEAR_AGO + timedelta(hours=hours - 1)})
        conn.execute("DROP TABLE bench_hours")
    return time.perf_counter() - started


def _readings(ids: list[int]) -> Iterator[tuple]:
    for point_id in ids:
        for day in range(365):
            ts = YEAR_AGO + timedelta(days=day)
            flow = 10.0 + 5.0 * math.sin(day / 20)
            yield (point_id, ts, "flow", flow, None, "L/s", "good", None, 1, day, ts)
            yield (point_id, ts, "level", 20.0 + math.sin(day / 30), None, "m", "good", None, 1, day, ts)
            yield (point_id, ts, "totalizer", day * 864.0, None, "m3", "good", None, 1, day, ts)


def _latest_and_alerts(db: Database, ids: list[int]) -> None:
    with db.transaction() as conn:
        conn.copy_rows(
            "latest_readings",
            ("point_id", "variable", "ts", "value", "unit", "quality", "flags"),
            (
                (p, v, NOW - timedelta(minutes=5), 12.5, u, "good", None)
                for p in ids
                for v, u in (("flow", "L/s"), ("level", "m"), ("totalizer", "m3"))
            ),
        )
        conn.copy_rows(
            "alerts",
            ("id", "kind", "subject", "point_id", "severity", "status", "message", "opened_at", "last_seen_at"),
            (
                (
                    str(uuid.UUID(int=p)),
                    "flow_above_right",
                    "x",
                    p,
                    "critical",
                    "open",
                    "over its right",
                    NOW - timedelta(hours=1),
                    NOW,
                )
                for p in ids[:100]
            ),
        )


_PG_CONSTRAINTS = (
    "SELECT conname AS name, pg_get_constraintdef(oid) AS definition FROM pg_constraint"
    " WHERE conrelid = CAST(:t AS regclass) AND contype IN ('u', 'f')"
)
_PG_INDEXES = (
    "SELECT indexname AS name, indexdef AS definition FROM pg_indexes WHERE tablename = :t AND indexname NOT IN"
    " (SELECT conname FROM pg_constraint WHERE conrelid = CAST(:t AS regclass))"
)
_SQLITE_INDEXES = (
    "SELECT name, sql AS definition FROM sqlite_master WHERE type = 'index' AND tbl_name = :t AND sql IS NOT NULL"
)
SQLITE_LOAD_CACHE_KIB = 2_097_152


@contextmanager
def _indexed_after(conn: Connection, table: str) -> Iterator[None]:
    """``table``'s plain indexes (and on PostgreSQL its unique and foreign-key constraints)
    are dropped for the load and built again after it from their own definitions, so the
    table ends with the same schema: one sorted build per index instead of an insertion per
    row into each. On SQLite the loading connection's page cache holds the whole load (with
    the default 2 MB, pages spill to the WAL again and again). Primary keys (and SQLite's
    table-level UNIQUE) stay."""
    postgres = conn.dialect == "postgresql"
    constraints = conn.fetchall(_PG_CONSTRAINTS, {"t": table}) if postgres else []
    indexes = conn.fetchall(_PG_INDEXES if postgres else _SQLITE_INDEXES, {"t": table})
    if not postgres:
        conn.execute(f"PRAGMA cache_size = -{SQLITE_LOAD_CACHE_KIB}")
    for constraint in constraints:
        conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT {constraint['name']}")
    for index in indexes:
        conn.execute(f"DROP INDEX {index['name']}")
    yield
    for index in indexes:
        conn.execute(index["definition"])
    for constraint in constraints:
        conn.execute(f"ALTER TABLE {table} ADD CONSTRAINT {constraint['name']} {constraint['definition']}")
    if not postgres:
        conn.execute("PRAGMA cache_size = -2000")


def _bulk(db: Database, table: str, columns: tuple[str, ...], rows: Iterator[tuple]) -> float:
    """``rows`` into ``table`` in one transaction (COPY on PostgreSQL, executemany on SQLite); seconds taken."""
    started = time.perf_counter()
    with db.transaction() as conn, _indexed_after(conn, table):
        conn.copy_rows(table, columns, rows)
    return time.perf_counter() - started


def load(db: Database) -> str:
    """Everything above; returns an administrator's token."""
    started = time.perf_counter()
    ids = _points(db)
    ledger_s = _ledger(db)
    readings_s = _bulk(db, "readings", COLUMNS, _readings(ids))
    _latest_and_alerts(db, ids)
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO users (username, password_hash, is_admin, created_at)"
            " VALUES ('bench', 'unusable', TRUE, :now)",
            {"now": NOW},
        )
        user = User(**conn.fetchone("SELECT id, username, is_admin FROM users WHERE username = 'bench'"))
        token = create_personal_token(conn, user, PersonalTokenCreate(name="bench"), NOW).token
        if conn.dialect == "postgresql":
            conn.execute("ANALYZE")
    print(
        f"   {db.dialect:<10} loaded {POINTS} points, {POINTS * 8760:,} ledger rows ({ledger_s:.1f} s),"
        f" {POINTS * 365 * 3:,} readings ({readings_s:.1f} s): {time.perf_counter() - started:.1f} s in all"
    )
    return token


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def timed(app: ASGIApp) -> ASGIApp:
    """``app`` answering with ``Server-Timing: app;dur=<ms>, cpu;dur=<ms>``: the time from
    the request's arrival in the app to its response's start (authentication, queries and
    rendering), and the process's CPU time meanwhile (requests come one at a time: it is this
    request's; the database server's own CPU is not in it). CPU time hardly moves with the
    machine's load; elapsed time does."""

    async def timed_app(scope: Scope, receive: Receive, send: Send) -> None:
        started, cpu = time.perf_counter(), time.process_time()

        async def send_timed(message: Message) -> None:
            if message["type"] == "http.response.start":
                header = (
                    f"app;dur={(time.perf_counter() - started) * 1000:.2f},"
                    f" cpu;dur={(time.process_time() - cpu) * 1000:.2f}"
                ).encode()
                message = {**message, "headers": [*message.get("headers", []), (b"server-timing", header)]}
            await send(message)

        await app(scope, receive, send_timed)

    return timed_app


def serve(url: str, port: int) -> None:
    """The core role's app, as ``caudal central serve`` runs it (uvicorn), its clock at NOW."""
    import uvicorn

    app = create_app(
        Settings(database_url=url, secret_key="bench-secret", dga_rut_empresa="77555666-8", workers=False),
        clock=ManualClock(NOW.isoformat()),
    )
    uvicorn.run(timed(app), host="127.0.0.1", port=port, log_level="warning")


@contextmanager
def server(database_url: str) -> Iterator[str]:
    """The app in its own process (the client's work does not share its interpreter); its URL."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", LAUNCH, database_url, str(port)], stdin=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, process, READY_TIMEOUT_S)
        yield url
    finally:
        process.terminate()
        process.wait(20)


@dataclass
class Timings:
    """Per round: the p95 of the app's own time and CPU time (Server-Timing) and of the whole
    HTTP request."""

    server: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)

    def round(self, request: Callable[[], httpx.Response]) -> None:
        server, cpu, wall = [], [], []
        for _ in range(REQUESTS):
            started = time.perf_counter()
            answer = request()
            wall.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200, answer.text[:200]
            app, app_cpu = (float(part.split("dur=")[1]) for part in answer.headers["server-timing"].split(","))
            server.append(app)
            cpu.append(app_cpu)
        self.server.append(p95(server))
        self.cpu.append(p95(cpu))
        self.wall.append(p95(wall))


def measure(database_url: str, figures: Figures) -> None:
    """Rounds alternate baseline and page, so a machine's drift hits both alike."""
    db = open_database(database_url)
    try:
        migrate(db)
        token, dialect = load(db), db.dialect
    finally:
        db.close()
    baseline, resumen = Timings(), Timings()
    with server(database_url) as url, httpx.Client(base_url=url, timeout=60) as client:
        latest = partial(
            client.get, "/api/v1/latest", params={"limit": 500}, headers={"Authorization": f"Bearer {token}"}
        )
        page = partial(client.get, "/ui/", headers={"Cookie": f"caudal_session={token}"})
        for request in (latest, page):  # warm up (template compilation, first queries, connections)
            assert request().status_code == 200
        load_average = os.getloadavg()[0]
        for _ in range(ROUNDS):
            baseline.round(latest)
            resumen.round(page)
    report(dialect, baseline, resumen, load_average, figures)


def report(dialect: str, baseline: Timings, resumen: Timings, load_average: float, figures: Figures) -> None:
    print(f"   {dialect:<10} load average (1 min) when the rounds started: {load_average:.1f}")
    for name, found in (("GET /api/v1/latest (baseline)", baseline), ("GET /ui/ (Resumen)", resumen)):
        print(f"   {dialect:<10} {name:<30} p95 server time per round: {spread(found.server)} ms")
        print(f"   {dialect:<10} {name:<30} p95 app CPU time per round: {spread(found.cpu)} ms")
        print(f"   {dialect:<10} {name:<30} p95 over HTTP per round:    {spread(found.wall)} ms")
    figures.ratio(
        f"{dialect}: Resumen p95 server time (ms) against /api/v1/latest's, 500 points", resumen.server, baseline.server
    )
    figures.ratio(
        f"{dialect}: Resumen p95 app CPU time (ms) against /api/v1/latest's, 500 points", resumen.cpu, baseline.cpu
    )
    figures.ratio(
        f"{dialect}: Resumen p95 over HTTP (ms) against /api/v1/latest's, 500 points", resumen.wall, baseline.wall
    )
    median = statistics.median(resumen.server)
    print(
        f"   {dialect:<10} goal Resumen p95 server time < {GOAL_MS:.0f} ms: {'met' if median < GOAL_MS else 'NOT met'}"
        f" (median round {median:.0f} ms)"
    )


def main() -> Figures:
    print(f"   {POINTS} points, a year of data; {ROUNDS} rounds of {REQUESTS} requests each, over HTTP to uvicorn")
    figures = Figures("Console: Resumen with 500 points and a year of data")
    with tempfile.TemporaryDirectory() as directory:
        measure(f"sqlite:///{Path(directory) / 'console.db'}", figures)
    if problem := postgres_unreachable():
        print(f"   {problem}")
        return figures
    with temporary_database(ADMIN_URL, "caudal_bench") as url:
        measure(url, figures)
    return figures


if __name__ == "__main__":
    main()
