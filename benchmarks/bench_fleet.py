"""A real fleet's small batches: many gateways, one 30-reading batch each, 16 connections.

Issue 16, goal 1. Four servers run side by side, each its own process (uvicorn, as
``caudal central serve`` runs it) on its own temporary PostgreSQL database:

- ``bare``: the baseline, an endpoint that reads the body, gunzips it, parses it with the
  same msgspec decoder ingest uses (:func:`central.telemetry.parse.parse_batch`) and
  answers 200. What any Python server must at least do per batch.
- ``ingest``: the telemetry role with its workers (rollup), alert evaluation off.
- ``ingest+alerts``: the telemetry role as production runs it (alert evaluation on).
- ``ingest+alerts role``: the telemetry role with ``CAUDAL_ALERT_EVALUATION=role`` (it only
  marks the points written) beside ``caudal central serve --role alerts``, which evaluates
  them in its own process; the alerts process's CPU is reported on its own line.

Each round posts the same number of batches to each server, as fast as it takes them (rounds
alternate so drift on the machine, loaded by other work, hits all of them alike), then
another set of batches to each server at the fleet's own rate, 333 batches/s (open loop,
each latency from the batch's due time: what the gateways see, where the first set measures
the server at saturation), with the CPU per batch at that rate of each server and of its
database's backends, against the bare endpoint's at the same rate. Figures are
min/median/max over the rounds, after one untimed batch per gateway (connections open,
latest readings set; the points' default alert rules are made by the seeding, as a server
that has run holds them). Reported per server: batches/s, p99 latency, and server CPU
seconds per 1,000 readings and milliseconds per batch (from ``/proc/<pid>/stat``, so the
client's own CPU is not counted; CPU per batch is steadier than the rates while other work
shares the machine), and the CPU of PostgreSQL's backends for the server's database per
batch (the alerts role's queries included for that variant): here PostgreSQL, the server and
this load generator share the machine's cores, so an ingest server's rate is bounded by its
own CPU and PostgreSQL's together. Ratios: ingest rate / bare rate (goal >= 0.5) and the
ingest process's CPU per reading with alerts / without (goal <= 1.3). Each round also sends
the bare endpoint and the ingest server as many ``GET /healthz`` (a constant answered by a
sync route): on the application, what a request costs before any work is done, so the most
ingest could reach on it. A paced set starts once every server of the run is idle
(:func:`quiet`), so it does not also measure another's leftovers (the alerts role
evaluating, a rollup pass). ``CAUDAL_BENCH_FLEET_BATCHES`` sets the batches per round.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aiohttp

from benchmarks.databases import ADMIN_URL, BackendCpu, postgres_measurable, temporary_database
from benchmarks.figures import Figures, spread
from benchmarks.procstat import process_cpu_s
from benchmarks.servers import stop, wait_ready
from caudal.demo_central import server_environment
from central.crypto import token_hash
from central.db import migrate, open_database
from central.telemetry.alerts import rule_store
from protocols.uplink import INGEST_PATH
from tests.ports import free_port

GATEWAYS = 300
CONNECTIONS = 16
MINUTES_PER_BATCH = 10  # x 3 variables = 30 readings
READINGS_PER_BATCH = MINUTES_PER_BATCH * 3
ROUNDS = 3
FLEET_RATE = 20_000 / 60  # goal 1's fleet: 20,000 gateways, one batch a minute each (batches/s)
BATCHES_PER_ROUND = int(os.environ.get("CAUDAL_BENCH_FLEET_BATCHES", "3000"))
NOW = datetime.now(UTC).replace(second=0, microsecond=0)
START = NOW - timedelta(days=60)
VARIANTS = ("bare", "ingest", "ingest+alerts", "ingest+alerts role")
READY_TIMEOUT_S = 60.0
PENDING_SETTLE_S = 3.0
QUIET_WINDOW_S, QUIET_SHARE, QUIET_WAIT_S = 0.5, 0.1, 30.0

# Run as ``python -c LAUNCH variant port``: the server of one variant (environment: CAUDAL_*).
LAUNCH = "from benchmarks.bench_fleet import serve; import sys; serve(sys.argv[1], int(sys.argv[2]))"


def bare_app():
    """The baseline: gunzip, parse with ingest's own parser, answer 200 (Starlette, no framework on top)."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from central.telemetry.body import read_body
    from central.telemetry.parse import parse_batch

    async def ingest(request):
        batch = await run_in_threadpool(parse_batch, await read_body(request, 10_000_000))
        return JSONResponse({"stored": len(batch.readings), "duplicates": 0, "server_time": NOW.isoformat()})

    async def ready(request):
        return JSONResponse({"status": "ok"})

    def alive(request):
        return JSONResponse({"status": "ok", "role": "bare", "version": "bench"})

    return Starlette(
        routes=[Route(INGEST_PATH, ingest, methods=["POST"]), Route("/readyz", ready), Route("/healthz", alive)]
    )


def serve(variant: str, port: int) -> None:
    """One variant's server, as ``caudal central serve`` runs one (heap settled, uvicorn)."""
    import uvicorn

    from central.app import create_app, settle_heap
    from central.settings import Settings

    if variant == "bare":
        app = bare_app()
    elif variant == "alerts role":
        app = create_app(Settings.from_env(alert_evaluation="role"), role="alerts")
        settle_heap()
    else:
        evaluation = "role" if variant == "ingest+alerts role" else "inline"
        app = create_app(Settings.from_env(alert_evaluation=evaluation), role="telemetry")
        if variant == "ingest":
            app.state.ctx.on_ingest = None
        settle_heap()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def token(gateway: int) -> str:
    return f"bench-fleet-{gateway}-token"


def seed(url: str) -> None:
    """GATEWAYS gateways with one point each (depth, cut-off, water right: every check runs),
    with their default alert rules, as a server that has run a while holds them (made by the
    first batch or the first timer pass, once in a point's life: not what is measured)."""
    db = open_database(url)
    try:
        migrate(db)
        with db.transaction() as conn:
            for gateway in range(GATEWAYS):
                conn.execute(
                    "INSERT INTO gateways (name, token_hash, token_created_at, created_at) VALUES (:n, :h, :now, :now)",
                    {"n": f"gw-{gateway}", "h": token_hash(token(gateway)), "now": NOW},
                )
                conn.execute(
                    "INSERT INTO points (code, name, kind, water_right_lps, sensor_depth_m, flow_cutoff_lps,"
                    " created_at, updated_at) VALUES (:c, :c, 'subterranea', 12, 80, 0.3, :now, :now)",
                    {"c": f"P{gateway}", "now": NOW},
                )
                conn.execute(
                    "INSERT INTO gateway_points (gateway_id, point_id) SELECT g.id, p.id FROM gateways g,"
                    " points p WHERE g.name = :g AND p.code = :c",
                    {"g": f"gw-{gateway}", "c": f"P{gateway}"},
                )
            rule_store.ensure_all_rules(conn, NOW)
    finally:
        db.close()


def body(gateway: int, batch: int) -> bytes:
    """Gateway ``gateway``'s ``batch``-th batch: 10 minutes of flow, totalizer and level."""
    readings = []
    for minute in range(batch * MINUTES_PER_BATCH, (batch + 1) * MINUTES_PER_BATCH):
        ts = (START + timedelta(minutes=minute)).isoformat().replace("+00:00", "Z")
        for index, (variable, value, unit) in enumerate(
            (
                ("flow", 8 + minute % 7, "L/s"),
                ("totalizer", 1000 + minute * 0.5, "m3"),
                ("level", 30 + minute % 5 / 10, "m"),
            )
        ):
            readings.append(
                {
                    "seq": minute * 3 + index,
                    "device": "d1",
                    "point": f"P{gateway}",
                    "variable": variable,
                    "ts": ts,
                    "value": value,
                    "unit": unit,
                    "quality": "good",
                }
            )
    document = {
        "schema": 1,
        "gateway": f"gw-{gateway}",
        "sent_at": NOW.isoformat().replace("+00:00", "Z"),
        "readings": readings,
        "agent": {"version": "bench", "buffer_depth": 0},
    }
    return gzip.compress(json.dumps(document).encode(), compresslevel=1)


def round_bodies(round_index: int) -> list[tuple[int, bytes]]:
    """The round's batches, gateways round-robin (each gateway's batches in time order)."""
    per_gateway = -(-BATCHES_PER_ROUND // GATEWAYS)
    first = round_index * per_gateway
    return [(n % GATEWAYS, body(n % GATEWAYS, first + n // GATEWAYS)) for n in range(BATCHES_PER_ROUND)]


@dataclass
class Server:
    variant: str
    url: str
    process: subprocess.Popen
    database_url: str
    figures: dict[str, list[float]] = field(default_factory=dict)

    def cpu_s(self) -> float:
        return process_cpu_s(self.process.pid)

    def add(self, name: str, value: float) -> None:
        self.figures.setdefault(name, []).append(value)


@contextmanager
def server(variant: str, database_url: str) -> Iterator[Server]:
    port = free_port()
    env = server_environment({"CAUDAL_DATABASE_URL": database_url, "CAUDAL_SECRET_KEY": "bench"})
    process = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, variant, str(port)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, process, READY_TIMEOUT_S)
        yield Server(variant, url, process, database_url)
    finally:
        stop(process, 20)


async def post_round(
    url: str, bodies: list[tuple[int, bytes]], rate: float | None = None, schedule: tuple[float, int] | None = None
) -> list[float]:
    """Post every body over CONNECTIONS keep-alive connections; each request's latency.

    ``rate`` (batches/s): the n-th body is due n / rate seconds after the start (open loop: a
    late one goes at once, none is skipped) and its latency runs from when it was due, so a
    batch that waited for a free connection counts its wait, as a gateway would see it; None:
    each as soon as a connection is free, its latency from when it is sent. ``schedule``: (the
    start, the first body's number) of a stream of rounds, so the time spent between rounds
    making the next one's bodies is caught up and the stream keeps ``rate``."""
    queue: asyncio.Queue[tuple[float, tuple[int, bytes]]] = asyncio.Queue()
    started, first = schedule or (time.perf_counter(), 0)
    for n, item in enumerate(bodies, first):
        queue.put_nowait((started + n / rate if rate else 0.0, item))
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=CONNECTIONS)
    async with aiohttp.ClientSession(base_url=url, connector=connector) as session:

        async def connection() -> None:
            while not queue.empty():
                due, (gateway, payload) = queue.get_nowait()
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                headers = {
                    "Authorization": f"Bearer {token(gateway)}",
                    "Content-Type": "application/json",
                    "Content-Encoding": "gzip",
                }
                sent = due or time.perf_counter()
                async with session.post(INGEST_PATH, data=payload, headers=headers) as reply:
                    text = await reply.text()
                    if reply.status != 200:
                        raise RuntimeError(f"HTTP {reply.status}: {text[:300]}")
                latencies.append(time.perf_counter() - sent)

        await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))
    return latencies


def measure_paced(target: Server, bodies: list[tuple[int, bytes]], servers: Sequence[Server]) -> None:
    """Post the round at the fleet's rate (goal 1's 20,000 gateways): the rate kept and the p99
    latency from each batch's due time, what the fleet sees (not the server at saturation).
    It starts once ``servers`` (all of the run's) are done with what the rounds before left
    them (:func:`quiet`), so the round measures ``target`` and not another's leftovers. Also
    the server's CPU per batch, and its PostgreSQL backends', at that rate: a batch that
    arrives alone costs more than one of a saturated server's groups (its own transaction,
    its own wake-ups), and this is what a fleet's capacity is planned on."""
    quiet(servers)
    record(target, "paced ", post_measured(target, bodies, FLEET_RATE))


@dataclass
class Posted:
    """A set of batches posted to a server: how long they took, their latencies, and what they
    cost the server's process and its database's PostgreSQL backends (None: not in ``/proc``)."""

    batches: int
    seconds: float
    latencies: list[float]
    cpu_s: float
    pg_cpu_s: float | None


def post_measured(target: Server, bodies: list[tuple[int, bytes]], rate: float | None = None) -> Posted:
    """:func:`post_round` to ``target``, with the CPU it cost the server and PostgreSQL."""
    cpu_before, started = target.cpu_s(), time.perf_counter()
    with BackendCpu(target.database_url) as backends:
        latencies = asyncio.run(post_round(target.url, bodies, rate))
    elapsed, cpu = time.perf_counter() - started, target.cpu_s() - cpu_before
    return Posted(len(bodies), elapsed, latencies, cpu, backends.seconds)


def record(target: Server, prefix: str, posted: Posted) -> None:
    """``posted``'s figures on ``target``, each named after ``prefix`` (the bare endpoint has no
    database work to count)."""
    target.add(f"{prefix}batches/s", posted.batches / posted.seconds)
    target.add(f"{prefix}p99 ms", statistics.quantiles(posted.latencies, n=100)[98] * 1000)
    target.add(f"{prefix}cpu ms/batch", posted.cpu_s / posted.batches * 1000)
    if target.variant != "bare" and posted.pg_cpu_s is not None:
        target.add(f"{prefix}pg cpu ms/batch", posted.pg_cpu_s / posted.batches * 1000)


def quiet(servers: Sequence[Server]) -> None:
    """Wait (up to QUIET_WAIT_S) until the servers' processes together use under QUIET_SHARE
    of a core over QUIET_WINDOW_S: the alerts role evaluating, a rollup pass, the timers."""
    deadline = time.monotonic() + QUIET_WAIT_S
    while time.monotonic() < deadline:
        before = sum(server.cpu_s() for server in servers)
        time.sleep(QUIET_WINDOW_S)
        if sum(server.cpu_s() for server in servers) - before < QUIET_SHARE * QUIET_WINDOW_S:
            return


async def get_round(url: str, path: str, count: int) -> None:
    """GET ``path`` ``count`` times over CONNECTIONS keep-alive connections."""
    left = count
    async with aiohttp.ClientSession(base_url=url, connector=aiohttp.TCPConnector(limit=CONNECTIONS)) as session:

        async def connection() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                async with session.get(path) as reply:
                    await reply.read()
                    reply.raise_for_status()

        await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))


def measure_floor(target: Server, count: int) -> None:
    """``GET /healthz`` (a sync route answering a constant) at saturation: what a request costs
    the server before any work, the ceiling of what ingest can reach on it."""
    cpu_before, started = target.cpu_s(), time.perf_counter()
    asyncio.run(get_round(target.url, "/healthz", count))
    target.add("healthz/s", count / (time.perf_counter() - started))
    target.add("healthz cpu ms", (target.cpu_s() - cpu_before) / count * 1000)


def measure_round(target: Server, bodies: list[tuple[int, bytes]], beside: Server | None = None) -> None:
    """Post the round to ``target``; ``beside``: the alerts role's process, whose CPU is counted apart."""
    beside_before = beside.cpu_s() if beside else 0.0
    posted = post_measured(target, bodies)
    readings = len(bodies) * READINGS_PER_BATCH
    if beside is not None:
        time.sleep(PENDING_SETTLE_S)  # its last pass over the round's marks
        target.add("alerts role cpu s/1000", (beside.cpu_s() - beside_before) / readings * 1000)
    record(target, "", posted)
    target.add("cpu s/1000", posted.cpu_s / readings * 1000)


def with_postgresql(figures: dict[str, list[float]], prefix: str = "") -> list[float]:
    """The server's CPU per batch and its PostgreSQL backends', summed per round."""
    own, pg = figures[f"{prefix}cpu ms/batch"], figures[f"{prefix}pg cpu ms/batch"]
    return [server + backends for server, backends in zip(own, pg, strict=True)]


def report(servers: dict[str, Server]) -> Figures:
    figures = Figures("fleet: 30-reading batches")
    for name, target in servers.items():
        for what, values in target.figures.items():
            print(f"   {name:<14} {what:<11} {spread(values)}")
    bare, ingest, alerts, role = (servers[v].figures for v in VARIANTS)
    figures.ratio("ingest batches/s vs bare endpoint (goal >= 0.5)", ingest["batches/s"], bare["batches/s"])
    figures.ratio("ingest+alerts batches/s vs bare endpoint (goal >= 0.5)", alerts["batches/s"], bare["batches/s"])
    figures.ratio("ingest+alerts role batches/s vs bare endpoint (goal >= 0.5)", role["batches/s"], bare["batches/s"])
    figures.ratio("ingest server CPU per batch / bare endpoint's", ingest["cpu ms/batch"], bare["cpu ms/batch"])
    figures.ratio(
        "ingest server + PostgreSQL CPU per batch / bare endpoint's",
        with_postgresql(ingest),
        bare["cpu ms/batch"],
    )
    figures.ratio(
        "the app's /healthz requests/s vs bare endpoint batches/s (ceiling)", ingest["healthz/s"], bare["batches/s"]
    )
    figures.ratio(
        "the app's /healthz CPU per request / bare endpoint's per batch", ingest["healthz cpu ms"], bare["cpu ms/batch"]
    )
    figures.ratio(
        "the app's /healthz CPU per request / a bare Starlette route's",
        ingest["healthz cpu ms"],
        bare["healthz cpu ms"],
    )
    figures.ratio(
        "ingest CPU per reading, alerts inline / no alerts (goal <= 1.3)", alerts["cpu s/1000"], ingest["cpu s/1000"]
    )
    figures.ratio(
        "ingest CPU per reading, alerts in the alerts role / no alerts (goal <= 1.3)",
        role["cpu s/1000"],
        ingest["cpu s/1000"],
    )
    figures.ratio(
        "alerts role CPU per reading / ingest's own (no alerts)", role["alerts role cpu s/1000"], ingest["cpu s/1000"]
    )
    figures.ratio(
        f"ingest server CPU per batch at {FLEET_RATE:.0f} batches/s / bare endpoint's at that rate",
        ingest["paced cpu ms/batch"],
        bare["paced cpu ms/batch"],
    )
    figures.ratio(
        f"ingest server + PostgreSQL CPU per batch at {FLEET_RATE:.0f} batches/s / bare endpoint's at that rate",
        with_postgresql(ingest, "paced "),
        bare["paced cpu ms/batch"],
    )
    figures.ratio(
        f"ingest server CPU per batch at {FLEET_RATE:.0f} batches/s / at saturation",
        ingest["paced cpu ms/batch"],
        ingest["cpu ms/batch"],
    )
    for name in VARIANTS[1:]:
        figures.value(f"{name} p99 ms at saturation", servers[name].figures["p99 ms"])
    for name in VARIANTS[1:]:
        figures.value(f"{name} batches/s kept, asked {FLEET_RATE:.0f}", servers[name].figures["paced batches/s"])
        figures.value(
            f"{name} p99 ms at {FLEET_RATE:.0f} batches/s (goal < 100)", servers[name].figures["paced p99 ms"]
        )
    return figures


def main() -> Figures | None:
    if not postgres_measurable(
        f"{GATEWAYS} gateways, {READINGS_PER_BATCH}-reading gzip batches, {CONNECTIONS} connections,"
        f" {BATCHES_PER_ROUND} batches per round per server, {ROUNDS} rounds; PostgreSQL"
    ):
        return None
    with ExitStack() as stack:
        servers = {}
        for variant in VARIANTS:
            url = stack.enter_context(temporary_database(ADMIN_URL, "caudal_bench_fleet"))
            seed(url)
            servers[variant] = stack.enter_context(server(variant, url))
            if variant == "ingest+alerts role":
                alerts_role = stack.enter_context(server("alerts role", url))
        everyone = [*servers.values(), alerts_role]
        warm_up = [(gateway, body(gateway, 0)) for gateway in range(GATEWAYS)]  # connections open
        for variant in VARIANTS:
            asyncio.run(post_round(servers[variant].url, warm_up))
        for round_index in range(ROUNDS):
            bodies = round_bodies(round_index + 1)
            for variant in VARIANTS:
                measure_round(servers[variant], bodies, alerts_role if variant == "ingest+alerts role" else None)
            for variant in VARIANTS[:2]:
                measure_floor(servers[variant], BATCHES_PER_ROUND)
            paced = round_bodies(ROUNDS + 1 + round_index)
            for variant in VARIANTS:
                measure_paced(servers[variant], paced, everyone)
        return report(servers)


if __name__ == "__main__":
    main()
