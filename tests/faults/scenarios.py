"""The fault scenarios, sized by their arguments: the tests run them small, ``make soak`` large.

Each drives a :class:`~tests.faults.rig.Rig` through seeded random faults, then settles:
faults off, the agent itself must deliver everything produced so far (it recovers on its
own), it is stopped with SIGTERM, what it left is drained, and the run is counted
(:mod:`tests.faults.ledger`). The result carries the figures the soak prints.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from edge.buffer import Buffer, PolledReading
from protocols.uplink import Quality
from tests.faults.ledger import Tally, drain, edge_count, tally
from tests.faults.proxy import Mode
from tests.faults.rig import GATEWAY, METERS, Rig, RigError, wait_until

SEED = 20261203  # fixed: a failure replays with the same fault instants
CATCH_UP_S = 120.0  # the uploader's backoff grows with each failure of a run (full jitter, up to 5 min)
FAULT_MODES = (Mode.DELAY, Mode.DROP_REPLY, Mode.RESET, Mode.BLACK_HOLE)
BACKLOG_BATCH = 20_000


@dataclass
class Outcome:
    """What a scenario did and what it counted."""

    scenario: str
    faults: dict[str, int]
    tally: Tally
    drained_after_stop: int
    seconds: float
    extra: dict[str, float] = field(default_factory=dict)

    def figures(self) -> str:
        t = self.tally
        faults = ", ".join(f"{name} {count}" for name, count in sorted(self.faults.items()) if count)
        extra = "".join(f", {name} {value:g}" for name, value in self.extra.items())
        return (
            f"{self.scenario}: {self.seconds:.0f} s; faults: {faults or 'none'}; produced {t.produced}, "
            f"stored {t.stored}, doubled {len(t.doubled)}, not stored {t.not_stored}, dropped {t.dropped_edge} "
            f"(reported {t.dropped_reported}), unknown {len(t.unknown)}, left for the final drain "
            f"{self.drained_after_stop}{extra}"
        )


def stored_up_to(database_url: str, last_seq: int) -> int:
    """How many of the gateway's readings with seq <= ``last_seq`` PostgreSQL holds."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM readings r JOIN gateways g ON g.id = r.gateway_id WHERE g.name = %s AND r.seq <= %s",
            (GATEWAY, last_seq),
        ).fetchone()[0]


def wait_for_uploads(rig: Rig, timeout_s: float = 60.0) -> None:
    """Until the agent has produced and delivered readings (it is polling and uploading)."""
    wait_until(
        lambda: rig.agent.buffer_path.exists() and stored_up_to(rig.database_url, 10**12) > 0,
        timeout_s,
        "the agent's first upload",
    )


def catch_up(rig: Rig, target: int) -> None:
    """Until the server holds seqs 1..``target``; fails after :data:`CATCH_UP_S` without progress
    (a large backlog takes minutes, but never a minute without a batch)."""
    stored, progress_at = -1, time.monotonic()
    while (now_stored := stored_up_to(rig.database_url, target)) < target:
        if now_stored > stored:
            stored, progress_at = now_stored, time.monotonic()
        elif time.monotonic() - progress_at > CATCH_UP_S:
            raise RigError(
                f"the agent delivered nothing for {CATCH_UP_S:g} s: {stored} of the {target} readings"
                " produced during the faults are stored"
            )
        time.sleep(0.2)


def settle(rig: Rig, scenario: str, faults: dict[str, int], started: float, **extra: float) -> Outcome:
    """Faults off; the agent catches up by itself, stops, the rest is drained; the run is counted."""
    rig.proxy.set_mode(Mode.PASS)
    if not rig.central.running:
        rig.central.start_ready()
    if not rig.agent.running:
        rig.agent.start_ready()
    catch_up(rig, edge_count(rig.agent.buffer_path).produced)
    if (code := rig.agent.terminate()) != 0:
        raise RigError(f"the agent exited with {code} on SIGTERM:\n{rig.agent.tail()}")
    drained = drain(rig.agent.buffer_path, f"http://127.0.0.1:{rig.central.port}", GATEWAY)
    return Outcome(
        scenario,
        faults,
        tally(rig.agent.buffer_path, rig.database_url, GATEWAY),
        drained,
        time.monotonic() - started,
        dict(extra),
    )


def agent_kills(rig: Rig, rng: random.Random, kills: int, alive_s: tuple[float, float] = (0.0, 3.0)) -> Outcome:
    """kill -9 of the agent ``kills`` times, each a random time after it started polling."""
    started = time.monotonic()
    for _ in range(kills):
        rig.agent.start_ready()
        time.sleep(rng.uniform(*alive_s))
        rig.agent.kill()
    return settle(rig, "agent kill -9", {"agent kill -9": kills}, started)


def central_restarts(
    rig: Rig,
    rng: random.Random,
    restarts: int,
    up_s: tuple[float, float] = (1.0, 4.0),
    down_s: tuple[float, float] = (0.0, 3.0),
) -> Outcome:
    """kill -9 of the central server ``restarts`` times while the agent uploads; each time restarted."""
    started = time.monotonic()
    rig.agent.start_ready()
    wait_for_uploads(rig)
    for _ in range(restarts):
        time.sleep(rng.uniform(*up_s))
        rig.central.kill()
        time.sleep(rng.uniform(*down_s))
        rig.central.start_ready()
    return settle(rig, "central kill -9 and restart", {"central kill -9": restarts}, started)


def terminate_connections(database_url: str) -> int:
    """pg_terminate_backend on every other connection to the run's database (the server's pool)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()[0]


def connection_kills(rig: Rig, rng: random.Random, rounds: int, every_s: tuple[float, float] = (0.2, 1.5)) -> Outcome:
    """The server's database connections terminated ``rounds`` times at random instants."""
    started = time.monotonic()
    rig.agent.start_ready()
    wait_for_uploads(rig)
    terminated = 0
    for _ in range(rounds):
        time.sleep(rng.uniform(*every_s))
        terminated += terminate_connections(rig.database_url)
    return settle(
        rig, "database connections terminated", {"rounds": rounds, "connections terminated": terminated}, started
    )


def proxy_window(rig: Rig, mode: Mode, seconds: float) -> Outcome:
    """One fault mode on the uplink for ``seconds`` while the agent uploads."""
    started = time.monotonic()
    rig.agent.start_ready()
    wait_for_uploads(rig)
    rig.proxy.set_mode(mode)
    time.sleep(seconds)
    return settle(rig, f"proxy {mode.value} for {seconds:g} s", dict(rig.proxy.counts), started)


def proxy_chaos(
    rig: Rig,
    rng: random.Random,
    seconds: float,
    window_s: tuple[float, float] = (0.5, 4.0),
    agent_kill_share: float = 0.0,
) -> Outcome:
    """Random fault modes in random windows for ``seconds``, good windows in between; with
    ``agent_kill_share``, that share of the windows also ends with a kill -9 of the agent."""
    started = time.monotonic()
    rig.agent.start_ready()
    wait_for_uploads(rig)
    kills = 0
    while time.monotonic() - started < seconds:
        rig.proxy.set_mode(rng.choice(FAULT_MODES))
        time.sleep(rng.uniform(*window_s))
        rig.proxy.set_mode(Mode.PASS)
        if rng.random() < agent_kill_share:
            rig.agent.kill()
            kills += 1
            rig.agent.start_ready()
        time.sleep(rng.uniform(*window_s))
    return settle(rig, f"proxy chaos for {seconds:g} s", {**rig.proxy.counts, "agent kill -9": kills}, started)


def fill_backlog(buffer_path: Path, count: int, end: datetime) -> None:
    """``count`` readings waiting in the agent's buffer (an outage's worth), one per second per
    point and variable, the newest just before ``end``."""
    series = [
        (name, point, variable, unit)
        for name, _, point in METERS
        for variable, unit in (("flow", "L/s"), ("totalizer", "m3"))
    ]
    steps = -(-count // len(series))
    first = end - timedelta(seconds=steps)
    with Buffer.open(buffer_path) as buffer:
        for chunk_start in range(0, count, BACKLOG_BATCH):
            chunk = range(chunk_start, min(count, chunk_start + BACKLOG_BATCH))
            buffer.append(
                [
                    PolledReading(
                        device,
                        point,
                        variable,
                        first + timedelta(seconds=i // len(series)),
                        float(i // len(series)),
                        unit,
                        Quality.GOOD,
                    )
                    for i in chunk
                    for device, point, variable, unit in [series[i % len(series)]]
                ]
            )


def backlog_kills(
    rig: Rig, rng: random.Random, backlog: int, kills: int, alive_s: tuple[float, float] = (0.0, 3.0)
) -> Outcome:
    """A backlog of ``backlog`` readings drained while the agent is killed ``kills`` times."""
    filling = time.monotonic()
    fill_backlog(rig.agent.buffer_path, backlog, datetime.now(UTC) - timedelta(minutes=1))
    started = time.monotonic()
    for _ in range(kills):
        rig.agent.start_ready()
        time.sleep(rng.uniform(*alive_s))
        rig.agent.kill()
    outcome = settle(rig, f"backlog of {backlog} with agent kill -9", {"agent kill -9": kills}, started)
    outcome.extra["s to fill the buffer"] = round(started - filling, 1)
    outcome.extra["stored per second, kills included"] = round(outcome.tally.stored / outcome.seconds)
    return outcome
