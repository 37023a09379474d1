"""The parts of the scale-out test (test_scale_out.py): a fleet of edge uploaders, role processes
of ``caudal central serve`` and a DGA stand-in in its own thread, all on one PostgreSQL database.

The fleet is the edge's own code: each gateway has a real buffer (:class:`edge.buffer.Buffer`,
an SQLite file) filled ahead with its readings and a real :class:`edge.uploader.Uploader`
draining it in 30-reading batches, with the uploader's own retry policy (backoff on a
connection error or a 5xx, ``Retry-After`` on a 503). Their waits go through
:class:`FastClock`, so a 30 s ``Retry-After`` takes a fraction of a second.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import urllib.request
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from central.crypto import SecretBox
from central.db import Database
from compliance.config_store import put_config
from compliance.registry import REGULATORS
from compliance.standins.dga import DgaStandIn, Registration, run_dga_standin
from edge.buffer import Buffer, PolledReading
from edge.uploader import Uploader
from protocols.clock import SystemClock
from protocols.uplink import Quality
from tests.compliance.worker_support import INFORMANT, PASSWORD, RUT_EMPRESA, SECRET_KEY, dga_config
from tests.factories import add_gateway, add_point, add_readings, add_user
from tests.faults.rig import Process, RigError, wait_until
from tests.ports import free_port

MINUTES_PER_BATCH = 10  # x 3 variables: the 30-reading batch of a gateway uploading every 10 minutes
VARIABLES = (("flow", "L/s"), ("totalizer", "m3"), ("level", "m"))
BATCH = MINUTES_PER_BATCH * len(VARIABLES)  # readings per upload
TIME_SCALE = 50.0
ADMIN_TOKEN = "admin-token"


class FastClock(SystemClock):
    """The machine's time, but waits pass :data:`TIME_SCALE` times faster (the uploader's backoff
    and ``Retry-After`` keep their shape, the test does not wait 30 s for each)."""

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / TIME_SCALE)


@dataclass(frozen=True)
class FleetGateway:
    """The fleet's gateway ``index``: its name, its token and the one point it reports."""

    index: int

    @property
    def name(self) -> str:
        return f"gw-{self.index:03d}"

    @property
    def token(self) -> str:
        return f"{self.name}-token"

    @property
    def point(self) -> str:
        return f"F{self.index:03d}"


def work_code(index: int) -> str:
    """The DGA work code of the fleet's work ``index``."""
    return f"OB-0601-{100 + index}"


Sent = tuple[str, datetime, str, float]  # point code, ts, variable, value


def gateway_readings(index: int, batches: int, start: datetime, first_batch: int = 0) -> list[PolledReading]:
    """Gateway ``index``'s readings from its batch ``first_batch`` on: one point, three
    variables, one minute apart from ``start``."""
    point = FleetGateway(index).point
    readings = []
    first = first_batch * MINUTES_PER_BATCH
    for minute in range(first, first + batches * MINUTES_PER_BATCH):
        ts = start + timedelta(minutes=minute)
        values = (8.0 + minute % 7, 1000.0 + minute * 0.5, 30.0 + minute % 5 / 10)
        readings += [
            PolledReading("d1", point, variable, ts, value, unit, Quality.GOOD)
            for (variable, unit), value in zip(VARIABLES, values, strict=True)
        ]
    return readings


def seed(db: Database, gateways: int, works: int, now: datetime) -> None:
    """An admin with a personal token; ``gateways`` gateways with one point each; ``works``
    points to report to the DGA (their configurations come later, :func:`configure_works`).
    A few dozen of each: the factories' one-row-at-a-time functions take milliseconds."""
    with db.transaction() as conn:
        add_user(conn, "admin", now, token=ADMIN_TOKEN, is_admin=True)
        for index in range(gateways):
            gateway = FleetGateway(index)
            add_point(conn, gateway.point, now)
            add_gateway(conn, gateway.name, gateway.token, [gateway.point], now)
        for index in range(works):
            add_point(conn, work_code(index), now, water_right_lps=20, sensor_depth_m=50)


def configure_works(db: Database, works: int, slot: datetime, dga_url: str, now: datetime) -> None:
    """Each work: its readings at ``slot`` and a live DGA configuration for that one slot."""
    with db.transaction() as conn:
        for index in range(works):
            point = conn.fetchone("SELECT * FROM points WHERE code = :c", {"c": work_code(index)})
            add_readings(conn, point["id"], slot, flow=10.0, totalizer=1000.0 + index, water_table=30.0)
            config = dga_config(
                dga_url,
                codigo_obra=work_code(index),
                valid_from=slot.isoformat(),
                valid_to=(slot + timedelta(minutes=30)).isoformat(),
                grace_minutes=0,
            )
            put_config(conn, SecretBox(SECRET_KEY), point, REGULATORS["dga"], config, "admin", now)


class ThreadedDga:
    """The DGA stand-in (:mod:`compliance.standins.dga`) on its own event loop in a thread, so it
    answers while the test's own loop runs the fleet."""

    def __init__(self, works: int) -> None:
        self._registry = {work_code(index): Registration(INFORMANT, PASSWORD) for index in range(works)}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._serving: AbstractAsyncContextManager[DgaStandIn] = run_dga_standin(self._registry, RUT_EMPRESA)
        self.stand_in: DgaStandIn | None = None

    def __enter__(self) -> ThreadedDga:
        self._thread.start()
        self.stand_in = asyncio.run_coroutine_threadsafe(self._serving.__aenter__(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._serving.__aexit__(None, None, None), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    @property
    def url(self) -> str:
        assert self.stand_in is not None
        return self.stand_in.url

    def posted_slots(self) -> list[tuple[str, str, str]]:
        """(codigoObra, fechaMedicion, horaMedicion) of every POST received, in order."""
        assert self.stand_in is not None
        posts = [r for r in list(self.stand_in.received) if r["method"] == "POST"]
        return [
            (
                r["headers"]["codigoObra"],
                r["body"]["medicionSubterranea"]["fechaMedicion"],
                r["body"]["medicionSubterranea"]["horaMedicion"],
            )
            for r in posts
        ]


class RoleProcess(Process):
    """``caudal central serve --role ROLE`` on its own port, against the test's database."""

    def __init__(self, role: str, name: str, database_url: str, folder: Path, env: dict[str, str]) -> None:
        self.role, self.name, self.port = role, name, free_port()
        super().__init__(
            ["central", "serve", "--role", role, "--host", "127.0.0.1", "--port", str(self.port)],
            folder / f"{name}.log",
            {
                "CAUDAL_DATABASE_URL": database_url,
                "CAUDAL_SECRET_KEY": SECRET_KEY,
                "CAUDAL_DGA_RUT_EMPRESA": RUT_EMPRESA,
                "CAUDAL_AUTO_MIGRATE": "false",
                **env,
            },
        )

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def ready(self) -> bool:
        if not self.running:
            raise RigError(f"{self.name} exited:\n{self.tail()}")
        try:
            with urllib.request.urlopen(f"http://{self.address}/readyz", timeout=2) as reply:
                return bool(reply.status == 200)
        except OSError:
            return False


def start_all(processes: list[RoleProcess], timeout_s: float = 60) -> None:
    for process in processes:
        process.start()
    for process in processes:
        wait_until(process.ready, timeout_s, f"{process.name}'s /readyz", 0.1)


class FailedUploads(logging.Handler):
    """Counts the uploader's "upload of N readings failed: why" warnings (one per failed attempt)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += record.getMessage().startswith("upload of") and "failed" in record.getMessage()


@dataclass
class Fleet:
    """Every gateway's buffer and uploader; :meth:`run` drains them all through ``url``."""

    folder: Path
    url: str
    gateways: int
    batches: int
    start: datetime
    sent: list[Sent] = field(default_factory=list)
    uploaders: list[Uploader] = field(default_factory=list)
    buffers: list[Buffer] = field(default_factory=list)
    failed: FailedUploads = field(default_factory=FailedUploads)
    filled: int = 0  # batches written to each gateway's buffer so far

    def fill(self) -> None:
        clock = FastClock()
        for index in range(self.gateways):
            gateway = FleetGateway(index)
            buffer = Buffer.open(self.folder / gateway.name / "buffer.db")
            self.buffers.append(buffer)
            self.uploaders.append(
                Uploader(
                    gateway=gateway.name,
                    central_url=self.url,
                    token=gateway.token,
                    buffer=buffer,
                    clock=clock,
                    version="scale-test",
                    batch_size=BATCH,
                )
            )
        self.top_up(self.batches)

    def top_up(self, batches: int) -> None:
        """Each gateway's next ``batches`` batches into its buffer, as its poller would write them."""
        for index, buffer in enumerate(self.buffers):
            readings = gateway_readings(index, batches, self.start, first_batch=self.filled)
            buffer.append(readings)
            self.sent += [(r.point, r.ts, r.variable, r.value) for r in readings if r.value is not None]
        self.filled += batches

    def acknowledged(self) -> int:
        return sum(uploader.state.uploaded_total for uploader in self.uploaders)

    def waiting(self) -> int:
        return sum(buffer.stats().depth for buffer in self.buffers)

    async def run(self, on_progress: Callable[[int], None], timeout_s: float) -> None:
        """Run every uploader until all buffers are empty; ``on_progress(acknowledged)`` every 50 ms."""
        stop = asyncio.Event()
        logging.getLogger("caudal.edge.uploader").addHandler(self.failed)
        tasks = [asyncio.create_task(uploader.run(stop)) for uploader in self.uploaders]
        deadline = time.monotonic() + timeout_s
        try:
            while self.acknowledged() < len(self.sent):
                if time.monotonic() > deadline:
                    raise RigError(
                        f"the fleet acknowledged {self.acknowledged()} of {len(self.sent)} readings"
                        f" within {timeout_s:g} s"
                    )
                on_progress(self.acknowledged())
                await asyncio.sleep(0.05)
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            logging.getLogger("caudal.edge.uploader").removeHandler(self.failed)

    def close(self) -> None:
        for buffer in self.buffers:
            buffer.close()


def stored_readings(db: Database) -> list[Sent]:
    with db.connect() as conn:
        rows = conn.fetchall(
            "SELECT p.code, r.ts, r.variable, r.value FROM readings r JOIN points p"
            " ON p.id = r.point_id WHERE p.code LIKE 'F%' ORDER BY 1, 2, 3"
        )
    return [(row["code"], row["ts"], row["variable"], row["value"]) for row in rows]


def dga_ledger(db: Database, now: datetime) -> dict[str, str]:
    """Each work's slot: ``accepted``, ``later`` (a send left in flight by a killed worker,
    ``pending`` or ``retry_scheduled`` to be sent again on the retry schedule, tomorrow) or its state."""
    with db.connect() as conn:
        rows = conn.fetchall(
            "SELECT p.code, s.state, s.next_attempt_at FROM compliance_submissions s"
            " JOIN points p ON p.id = s.point_id WHERE s.regulator = 'dga'"
        )
    return {
        row["code"]: "later"
        if row["state"] in ("pending", "retry_scheduled") and row["next_attempt_at"] > now + timedelta(hours=1)
        else row["state"]
        for row in rows
    }


def rate(readings: int, seconds: float) -> float:
    return readings / seconds if seconds > 0 else 0.0


def summary(figures: dict[str, Any]) -> str:
    return "; ".join(
        f"{name} {value:,.0f}" if isinstance(value, float) else f"{name} {value}" for name, value in figures.items()
    )
