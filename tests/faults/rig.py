"""The real processes of a fault run: the central server, a simulated meter, the edge agent.

Each runs as its own subprocess of the installed ``caudal`` command, exactly as on a site
(``caudal central serve``, ``caudal sim modbus``, ``caudal edge run``), so a kill -9 is a
real kill -9: no ``finally`` runs, sockets and the buffer's lock go with the process. The
central server runs on a temporary PostgreSQL database seeded with the telemetry tests'
small site (gateway ``gw-norte`` writing points P1 and P2). Output goes to log files in the
run's folder, for the failure message.

Real time is unavoidable here (other processes keep their own clocks); waits are polls
with a deadline, never fixed sleeps standing in for a condition.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import psycopg

from central.db import migrate, open_database
from protocols.clock import SystemClock
from tests.central.telemetry_support import GATEWAY_TOKEN, seed_site
from tests.faults.proxy import FaultProxy, Mode
from tests.pg import temporary_database
from tests.ports import free_port

CAUDAL = str(Path(sys.executable).with_name("caudal"))
GATEWAY = "gw-norte"
METERS = (("pozo-1", 1, "P1"), ("pozo-2", 2, "P2"))  # name, Modbus unit, central point
STARTUP_S = 30.0


class RigError(RuntimeError):
    """A process of the rig did not come up, or a condition was not reached in time."""


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str, interval_s: float = 0.05) -> None:
    """Poll ``condition`` until true; :class:`RigError` naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise RigError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(interval_s)


def accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Process:
    """A ``caudal`` subprocess that can be started again after a kill; output appended to ``log``."""

    args: list[str]
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    popen: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                [CAUDAL, *self.args],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.env},
                start_new_session=True,
            )

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """kill -9 and reap."""
        if self.running:
            assert self.popen is not None
            self.popen.send_signal(signal.SIGKILL)
        if self.popen is not None:
            self.popen.wait(10)

    def terminate(self, timeout_s: float = 20) -> int:
        """SIGTERM, wait for the exit; its code (a kill -9 after ``timeout_s``)."""
        assert self.popen is not None
        if self.running:
            self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            raise RigError(f"{self.args[:2]} did not stop within {timeout_s:g} s of SIGTERM") from None

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


class Central(Process):
    """``caudal central serve`` (role all, workers on) on ``port``."""

    def __init__(self, database_url: str, port: int, log: Path) -> None:
        super().__init__(
            ["central", "serve"],
            log,
            {
                "CAUDAL_DATABASE_URL": database_url,
                "CAUDAL_PORT": str(port),
                "CAUDAL_SECRET_KEY": "faults-secret",
                "CAUDAL_ROLLUP_INTERVAL_S": "1",
            },
        )
        self.port = port

    def start_ready(self) -> None:
        self.start()
        wait_until(self.ready, STARTUP_S, "the central server's /readyz", 0.1)

    def ready(self) -> bool:
        if not self.running:
            raise RigError(f"the central server exited:\n{self.tail()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=2) as reply:
                return reply.status == 200
        except OSError:
            return False


class Meter(Process):
    """``caudal sim modbus`` serving the :data:`METERS` (MAG 6000 flowmeters) over Modbus TCP."""

    def __init__(self, port: int, log: Path) -> None:
        devices = [arg for _, unit, _ in METERS for arg in ("--device", f"siemens-mag6000:{unit}")]
        super().__init__(["sim", "modbus", "--tcp", f"127.0.0.1:{port}", *devices], log)
        self.port = port

    def start_ready(self) -> None:
        self.start()
        wait_until(lambda: accepts(self.port), STARTUP_S, "the simulated meter's port", 0.1)


def site_yaml(folder: Path, central_url: str, meter_port: int, buffer_path: Path) -> Path:
    """The gateway's site.yaml and token file in ``folder``; polls every second."""
    token = folder / "token"
    token.write_text(GATEWAY_TOKEN + "\n")
    devices = "".join(
        f"  - {{name: {name}, bus: plc, unit_id: {unit}, point: {point}, profile: siemens-mag6000, interval_s: 1}}\n"
        for name, unit, point in METERS
    )
    path = folder / "site.yaml"
    path.write_text(
        f"gateway:\n  id: {GATEWAY}\n  central_url: {central_url}\n  token_file: {token}\n"
        f"  buffer_path: {buffer_path}\n  heartbeat_s: 5\n"
        f"buses:\n  - {{name: plc, type: tcp, host: 127.0.0.1, port: {meter_port}, pause_ms: 0, timeout_s: 0.5}}\n"
        f"devices:\n{devices}"
    )
    return path


class Agent(Process):
    """``caudal edge run`` against ``central_url`` (usually the fault proxy)."""

    STARTED = "agente gw-norte iniciado"

    def __init__(self, config: Path, buffer_path: Path, log: Path) -> None:
        super().__init__(["edge", "run", "--config", str(config), "--flush-s", "2"], log)
        self.buffer_path = buffer_path

    def start_ready(self) -> None:
        """Start and wait for its "started" log line: buffer open, polling begins."""
        before = self.started_lines()
        self.start()
        wait_until(lambda: self.started_lines() > before or not self.running, STARTUP_S, "the agent to start", 0.02)
        if not self.running:
            raise RigError(f"the agent exited:\n{self.tail()}")

    def started_lines(self) -> int:
        return self.log.read_text(errors="replace").count(self.STARTED) if self.log.exists() else 0


@dataclass
class Rig:
    """One run's processes and proxy; :func:`rig` builds and tears it down."""

    folder: Path
    database_url: str
    central: Central
    meter: Meter
    proxy: FaultProxy
    agent: Agent

    def logs(self) -> str:
        """The tails of every log, for a failure message."""
        return "\n".join(
            f"--- {p.args[0]} {p.args[1]} ({p.log.name})\n{p.tail()}" for p in (self.central, self.meter, self.agent)
        )

    def with_new_agent(self, folder: Path, buffer_path: Path | None = None) -> Rig:
        """The same server, meter and proxy with a fresh agent (its own buffer) configured in
        ``folder``; the server forgets the previous agent's readings (:func:`forget_readings`)."""
        self.agent.kill()
        if not self.central.running:  # a test that failed while it was down
            self.central.start_ready()
        self.proxy.set_mode(Mode.PASS)
        self.proxy.counts.clear()
        forget_readings(self.database_url)
        folder.mkdir(parents=True, exist_ok=True)
        return replace(self, agent=new_agent(folder, self.proxy.url, self.meter.port, buffer_path))


FORGET = (
    # The server's rollup worker locks its marks, then writes hours, then deletes the marks:
    # waiting for its pass first (and holding new passes off) keeps the deletes below from
    # taking those rows in the other order, a deadlock (seen in CI, one run in many).
    "LOCK TABLE rollup_pending IN EXCLUSIVE MODE",
    "DELETE FROM readings",
    "DELETE FROM readings_hourly",
    "DELETE FROM rollup_pending",
    "DELETE FROM latest_readings",
    "UPDATE gateways SET last_seen_at = NULL, buffer_depth = NULL, oldest_unsent_s = NULL, dropped_total = NULL",
)


def forget_readings(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn, conn.transaction():
        for statement in FORGET:
            conn.execute(statement)


def new_agent(folder: Path, central_url: str, meter_port: int, buffer_path: Path | None = None) -> Agent:
    buffer = buffer_path or folder / "buffer" / "buffer.db"
    return Agent(site_yaml(folder, central_url, meter_port, buffer), buffer, folder / "agent.log")


def seed(database_url: str) -> None:
    """Migrate the new database and seed the site the agent reports to."""
    db = open_database(database_url)
    try:
        migrate(db)
        with db.transaction() as conn:
            seed_site(conn, SystemClock().now())
    finally:
        db.close()


@contextmanager
def rig(admin_url: str, folder: Path, buffer_path: Path | None = None, delay_s: float = 2.0) -> Iterator[Rig]:
    """Database, central server, meter and proxy running; the agent configured, not started.

    ``buffer_path`` puts the agent's buffer elsewhere (a small tmpfs, for the full-disk tests).
    """
    with ExitStack() as stack:
        url = stack.enter_context(temporary_database(admin_url, "caudal_faults"))
        seed(url)
        central = Central(url, free_port(), folder / "central.log")
        meter = Meter(free_port(), folder / "meter.log")
        for process in (central, meter):
            stack.callback(process.kill)
            process.start_ready()
        proxy = stack.enter_context(FaultProxy(upstream_port=central.port, delay_s=delay_s))
        running = Rig(folder, url, central, meter, proxy, new_agent(folder, proxy.url, meter.port, buffer_path))
        stack.callback(lambda: running.agent.kill())
        yield running
