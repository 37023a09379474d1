"""An outage's backlog drained edge -> central -> PostgreSQL, against a raw COPY of the same rows.

Issue 16, goal 2. An edge buffer holds READINGS readings (20 points x flow, totalizer and
level every minute, as after a long outage); the agent's :class:`~edge.uploader.Uploader`
sends it, batch after batch, to ``caudal central serve --role telemetry`` (its own process,
alert evaluation and rollup on, as in production) on a temporary PostgreSQL database,
until the buffer is empty: every reading stored and acknowledged.

Each round drains the backlog twice, once into each deployment: ``inline`` (the default: the
telemetry process evaluates alerts after each batch) and ``alerts role`` (the modular
deployment: ``CAUDAL_ALERT_EVALUATION=role``, alerts evaluated by ``caudal central serve
--role alerts`` in a process of its own, whose CPU counts as the server's; the round also
reports how long after the drain that role had evaluated every reading).

Baseline, same round: the rows the drain stored, COPYed raw (the adapter's binary COPY,
5,000 rows per transaction) into a fresh database of the same schema. Ratio = drain time
/ COPY time (goal <= 2). Also reported, per round, where the CPU went: the agent's (this
process), the server's and PostgreSQL's backends' for the drain database (``/proc``), against
the COPY's client and backend; their ratio says what the drain costs beyond storing the rows
however loaded the machine is. ``CAUDAL_BENCH_DRAIN_READINGS`` sets the backlog's size.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.bench_fleet import server
from benchmarks.databases import ADMIN_URL, BackendCpu, postgres_measurable, temporary_database
from benchmarks.figures import Figures, spread
from central.crypto import token_hash
from central.db import Database, migrate, open_database
from central.telemetry.ingest import COLUMNS
from edge.buffer import Buffer, PolledReading
from edge.uploader import Uploader
from protocols.clock import SystemClock
from protocols.uplink import Quality

READINGS = int(os.environ.get("CAUDAL_BENCH_DRAIN_READINGS", "1000000"))
POINTS = 20
VARIABLES = (("flow", "L/s"), ("totalizer", "m3"), ("level", "m"))
ROUNDS = 3
COPY_ROWS = 5000
TOKEN = "bench-drain-token"
NOW = datetime.now(UTC).replace(second=0, microsecond=0)


MINUTES = -(-READINGS // (POINTS * len(VARIABLES)))


def fill(path: Path) -> None:
    """The backlog: one poll cycle (POINTS x VARIABLES readings) per minute, oldest first."""
    minutes = MINUTES
    start = NOW - timedelta(minutes=minutes + 1)
    with Buffer.open(path, max_mb=4096) as buffer:
        for minute in range(minutes):
            ts = start + timedelta(minutes=minute)
            buffer.append(
                [
                    PolledReading(
                        f"d{point}",
                        f"P{point}",
                        variable,
                        ts,
                        {"flow": 8 + minute % 7, "totalizer": 1000 + minute * 0.5, "level": 30 + minute % 5 / 10}[
                            variable
                        ],
                        unit,
                        Quality.GOOD,
                    )
                    for point in range(POINTS)
                    for variable, unit in VARIABLES
                ]
            )


def seed(url: str) -> None:
    db = open_database(url)
    try:
        migrate(db)
        with db.transaction() as conn:
            conn.execute(
                "INSERT INTO gateways (name, token_hash, token_created_at, created_at)"
                " VALUES ('gw-drain', :h, :now, :now)",
                {"h": token_hash(TOKEN), "now": NOW},
            )
            for point in range(POINTS):
                conn.execute(
                    "INSERT INTO points (code, name, kind, water_right_lps, sensor_depth_m, flow_cutoff_lps,"
                    " created_at, updated_at) VALUES (:c, :c, 'subterranea', 12, 80, 0.3, :now, :now)",
                    {"c": f"P{point}", "now": NOW},
                )
            conn.execute(
                "INSERT INTO gateway_points (gateway_id, point_id) SELECT g.id, p.id FROM gateways g, points p"
            )
    finally:
        db.close()


async def drain(url: str, path: Path) -> tuple[float, float]:
    """(seconds, agent CPU seconds) until the buffer is empty."""
    with Buffer.open(path, max_mb=4096) as buffer:
        uploader = Uploader(
            gateway="gw-drain", central_url=url, token=TOKEN, buffer=buffer, clock=SystemClock(), version="bench"
        )
        cpu, started = time.process_time(), time.perf_counter()
        try:
            while await uploader.upload_once():
                pass
        finally:
            await uploader.close()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        assert buffer.stats().depth == 0
    return elapsed, cpu


def stored_rows(url: str) -> list[tuple]:
    db = open_database(url)
    try:
        with db.connect() as conn:
            rows = conn.fetchall(f"SELECT {', '.join(COLUMNS)} FROM readings ORDER BY ts, point_id, variable")
    finally:
        db.close()
    measured = sum(row["variable"] != "water_table" for row in rows)
    assert measured == MINUTES * POINTS * len(VARIABLES), f"{measured} readings stored, not each once"
    return [tuple(row.values()) for row in rows]


def raw_copy(rows: list[tuple]) -> dict[str, float]:
    """Seconds, client CPU and backend CPU to COPY ``rows`` into a fresh database of the same
    schema and points."""
    with temporary_database(ADMIN_URL, "caudal_bench_copy") as url:
        seed(url)
        db = open_database(url)
        try:
            with db.connect():
                pass  # the pool's connection is open before the clock starts
            with BackendCpu(url) as backend:
                cpu, started = time.process_time(), time.perf_counter()
                for first in range(0, len(rows), COPY_ROWS):
                    with db.transaction() as conn:
                        conn.copy_rows("readings", COLUMNS, rows[first : first + COPY_ROWS])
                elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        finally:
            db.close()
    return {"copy s": elapsed, "copy client cpu s": cpu, "copy pg cpu s": backend.seconds or 0.0}


DEPLOYMENTS = {"inline": ("ingest+alerts", None), "alerts role": ("ingest+alerts role", "alerts role")}
CAUGHT_UP_TIMEOUT_S = 300


def caught_up_s(url: str) -> float:
    """Seconds until the alerts role has evaluated every reading (no mark left)."""
    started = time.perf_counter()
    db = open_database(url)
    try:
        while _alerts_waiting(db):
            if time.perf_counter() - started > CAUGHT_UP_TIMEOUT_S:
                raise TimeoutError(f"the alerts role had not caught up after {CAUGHT_UP_TIMEOUT_S} s")
            time.sleep(0.1)
    finally:
        db.close()
    return time.perf_counter() - started


def _alerts_waiting(db: Database) -> bool:
    with db.connect() as conn:
        return bool(conn.fetchval("SELECT EXISTS (SELECT FROM alert_pending)"))


def drain_into(deployment: str, backlog: Path, folder: Path) -> tuple[dict[str, float], list[tuple[object, ...]]]:
    """One drain of the backlog into a fresh database served by ``deployment``; its figures
    and the rows it stored."""
    variant, beside = DEPLOYMENTS[deployment]
    path = folder / "buffer.db"
    shutil.copyfile(backlog, path)
    figures: dict[str, float] = {}
    with temporary_database(ADMIN_URL, "caudal_bench_drain") as url:
        seed(url)
        with ExitStack() as stack:
            servers = [stack.enter_context(server(name, url)) for name in (variant, beside) if name]
            backend = stack.enter_context(BackendCpu(url))
            server_cpu = sum(target.cpu_s() for target in servers)
            figures["drain s"], figures["agent cpu s"] = asyncio.run(drain(servers[0].url, path))
            if beside:
                figures["alerts caught up s"] = caught_up_s(url)
            figures["server cpu s"] = sum(target.cpu_s() for target in servers) - server_cpu
        figures["pg cpu s"] = backend.seconds or 0.0
        rows = stored_rows(url)
    path.unlink()
    return figures, rows


def one_round(backlog: Path, folder: Path) -> dict[str, dict[str, float]]:
    """Each deployment's drain, then the COPY of the rows they stored."""
    measured: dict[str, dict[str, float]] = {}
    for deployment in DEPLOYMENTS:
        measured[deployment], rows = drain_into(deployment, backlog, folder)
    measured["copy"] = raw_copy(rows)
    return measured


# What each drain reports without a baseline, by the key its round stores it under.
VALUES = {
    "drain s": "drain s",
    "agent cpu s": "agent CPU s",
    "server cpu s": "server CPU s",
    "pg cpu s": "PostgreSQL CPU s (drain database's backends)",
    "alerts caught up s": "alerts evaluated, s after the drain",
}


def report(figures: Figures, deployment: str, rounds: list[dict[str, dict[str, float]]]) -> None:
    drained, copied = [r[deployment] for r in rounds], [r["copy"] for r in rounds]
    for key in drained[0]:
        figures.value(f"{deployment}: {VALUES[key]}", [r[key] for r in drained])
    figures.ratio(
        f"{deployment}: drain CPU (agent + server + PostgreSQL) / raw COPY CPU (client + PostgreSQL)",
        [r["agent cpu s"] + r["server cpu s"] + r["pg cpu s"] for r in drained],
        [r["copy client cpu s"] + r["copy pg cpu s"] for r in copied],
    )
    figures.ratio(
        f"{deployment}: drain time / raw COPY time (goal <= 2)",
        [r["drain s"] for r in drained],
        [r["copy s"] for r in copied],
    )


def main() -> Figures | None:
    if not postgres_measurable(
        f"a {READINGS:,}-reading edge buffer drained by the uploader to `caudal central serve --role telemetry`"
        f" on PostgreSQL vs a raw COPY of the same rows; {ROUNDS} rounds"
    ):
        return None
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        backlog = folder / "backlog.db"
        fill(backlog)
        rounds = [one_round(backlog, folder) for _ in range(ROUNDS)]
    figures = Figures(f"backlog drain of {READINGS:,} readings")
    for what in rounds[0]["copy"]:
        print(f"   {'raw COPY':<12} {what:<18} {spread([r['copy'][what] for r in rounds])}")
    for deployment in DEPLOYMENTS:
        report(figures, deployment, rounds)
    return figures


if __name__ == "__main__":
    main()
