"""Ingest through the real HTTP API (uvicorn, keep-alive clients) with alert evaluation on vs off.

Same data, same run: 4 gateways with 2 points each upload batches of about 1,000 readings
(flow, totalizer, level every minute; flow crosses the water right now and then) to
servers on fresh SQLite databases (the default storage), with the ``on_ingest`` hook
(``on``, production) and without it (``off``, the baseline).

The hook only queues a batch; one thread evaluates batches in order, so what a gateway
feels is the CPU and database time evaluation takes from ingest. Three loads: ``paced`` (one gateway, 50 ms idle between batches, as a gateway
that keeps up), ``back to back`` on one connection (a backlog upload), and ``4 gateways
at once``. Figures: median latency per batch and throughput until every batch is stored
AND evaluated (the evaluation queue drained); ratios are on/off. Rounds alternate so drift on the machine hits both modes alike; best of each kept.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import uvicorn

from central.app import create_app
from central.crypto import token_hash
from central.settings import Settings
from central.telemetry.alerts.evaluation_queue import EvaluationQueue
from protocols.uplink import INGEST_PATH
from tests.ports import free_port

GATEWAYS = 4
POINTS_PER_GATEWAY = 2
MINUTES_PER_BATCH = 167  # 2 points x 3 variables x 167 minutes = 1,002 readings
BATCHES_PER_GATEWAY = 6
ROUNDS = 3
MODES = ("off", "on")
PACE_S = 0.05
NOW = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)
START = NOW - timedelta(minutes=MINUTES_PER_BATCH * BATCHES_PER_GATEWAY)


def token(gateway: int) -> str:
    return f"bench-gateway-{gateway}-token"


def seed(app) -> None:
    with app.state.ctx.db.transaction() as conn:
        for gateway in range(GATEWAYS):
            conn.execute(
                "INSERT INTO gateways (name, token_hash, token_created_at, created_at) VALUES (:n, :h, :now, :now)",
                {"n": f"gw-{gateway}", "h": token_hash(token(gateway)), "now": NOW},
            )
            for point in range(POINTS_PER_GATEWAY):
                code = f"P{gateway}-{point}"
                conn.execute(
                    "INSERT INTO points (code, name, kind, water_right_lps, sensor_depth_m, created_at,"
                    " updated_at) VALUES (:c, :c, 'subterranea', 12, 60, :now, :now)",
                    {"c": code, "now": NOW},
                )
                conn.execute(
                    "INSERT INTO gateway_points (gateway_id, point_id) SELECT g.id, p.id FROM gateways g,"
                    " points p WHERE g.name = :g AND p.code = :c",
                    {"g": f"gw-{gateway}", "c": code},
                )


def _readings(gateway: int, batch: int) -> list[dict]:
    readings, seq = [], batch * 10_000
    for minute in range(MINUTES_PER_BATCH):
        at = (START + timedelta(minutes=batch * MINUTES_PER_BATCH + minute)).isoformat().replace("+00:00", "Z")
        for point in range(POINTS_PER_GATEWAY):
            flow = 14.0 if (batch + point) % 3 == 0 else 8.0 + (minute % 10) / 10
            for variable, value, unit in (
                ("flow", flow, "L/s"),
                ("totalizer", 1000 + seq / 100, "m3"),
                ("level", 20 + point + (minute % 5) / 10, "m"),
            ):
                seq += 1
                readings.append(
                    {
                        "seq": seq,
                        "device": f"d{point}",
                        "point": f"P{gateway}-{point}",
                        "variable": variable,
                        "ts": at,
                        "value": value,
                        "unit": unit,
                        "quality": "good",
                    }
                )
    return readings


def batches() -> dict[int, list[bytes]]:
    """Each gateway's batches, in order."""
    return {
        gateway: [
            json.dumps(
                {
                    "schema": 1,
                    "gateway": f"gw-{gateway}",
                    "sent_at": NOW.isoformat(),
                    "readings": _readings(gateway, batch),
                }
            ).encode()
            for batch in range(BATCHES_PER_GATEWAY)
        ]
        for gateway in range(GATEWAYS)
    }


@contextmanager
def server(path: Path, mode: str) -> Iterator[tuple[str, EvaluationQueue]]:
    app = create_app(Settings(database_url=f"sqlite:///{path}", secret_key="bench", workers=False))
    seed(app)
    if mode == "off":
        app.state.ctx.on_ingest = None
    port = free_port()
    runner = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    while not runner.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", app.state.ctx.alert_queue
    finally:
        runner.should_exit = True
        thread.join(10)


def post_all(base: str, gateway: int, bodies: list[bytes], pace_s: float) -> list[float]:
    """One gateway's connection posting its batches; the latency of each."""
    headers = {"Authorization": f"Bearer {token(gateway)}", "Content-Type": "application/json"}
    latencies = []
    with httpx.Client(base_url=base, timeout=120) as client:
        for body in bodies:
            sent = time.perf_counter()
            client.post(INGEST_PATH, content=body, headers=headers).raise_for_status()
            latencies.append(time.perf_counter() - sent)
            time.sleep(pace_s)
    return latencies


def run(path: Path, mode: str, data: dict[int, list[bytes]], load: str) -> tuple[float, float, int]:
    """(seconds until stored and evaluated, without the pauses; median latency; alerts raised)."""
    pace_s = PACE_S if load == "paced" else 0.0
    with server(path, mode) as (base, queue):
        started = time.perf_counter()
        if load == "at once":
            with ThreadPoolExecutor(GATEWAYS) as pool:
                parts = list(pool.map(lambda g: post_all(base, g, data[g], pace_s), data))
        else:
            parts = [post_all(base, gateway, bodies, pace_s) for gateway, bodies in data.items()]
        queue.wait_idle(120)
        total = time.perf_counter() - started - pace_s * sum(len(part) for part in parts)
    conn = sqlite3.connect(path)
    try:
        raised = conn.execute("SELECT COUNT(*) FROM alerts").fetchone()[0]
    finally:
        conn.close()
    return total, statistics.median(x for part in parts for x in part), raised


def report(label: str, best: dict[str, tuple[float, float, int]], readings: int) -> None:
    (off_s, off_lat, _), (on_s, on_lat, raised) = (best[mode] for mode in MODES)
    throughput = (
        ""
        if label.startswith("paced")
        else (
            f"; stored+evaluated off {readings / off_s:,.0f}/s, on {readings / on_s:,.0f}/s "
            f"(ratio on/off {off_s / on_s:.2f})"
        )
    )
    print(
        f"   {label}: latency per batch off {off_lat * 1000:.0f} ms, on {on_lat * 1000:.0f} ms "
        f"(ratio on/off {on_lat / off_lat:.2f}){throughput}; alerts raised {raised}"
    )


def main() -> None:
    data = batches()
    readings = GATEWAYS * BATCHES_PER_GATEWAY * MINUTES_PER_BATCH * POINTS_PER_GATEWAY * 3
    print(
        f"   {GATEWAYS} gateways x {BATCHES_PER_GATEWAY} batches of "
        f"{MINUTES_PER_BATCH * POINTS_PER_GATEWAY * 3} readings over HTTP (uvicorn), SQLite"
    )
    with tempfile.TemporaryDirectory() as folder:
        for load, label in (
            ("paced", f"paced ({PACE_S * 1000:.0f} ms idle)"),
            ("back to back", "back to back"),
            ("at once", f"{GATEWAYS} gateways at once"),
        ):
            runs: dict[str, list[tuple[float, float, int]]] = {mode: [] for mode in MODES}
            for attempt in range(ROUNDS):
                for mode in MODES:
                    runs[mode].append(run(Path(folder) / f"{load}-{mode}-{attempt}.db", mode, data, load))
            best = {mode: (min(r[0] for r in rs), min(r[1] for r in rs), rs[-1][2]) for mode, rs in runs.items()}
            report(label, best, readings)
