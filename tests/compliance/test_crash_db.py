"""Crash between "sent" and "recorded": the worker runs as ``caudal compliance run-once`` in
a subprocess and is killed (SIGKILL) after the DGA stand-in stored the measurement but
before the reply reaches it. Restarted, it must never POST the slot blindly again: the
attempt is resolved as unanswered, resent the following day, and the DGA's "Ya existe ...
Comprobante: X" makes it accepted; after that, nothing is ever POSTed for it again."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import pytest
from aiohttp import web

from compliance.standins.common import serve
from compliance.standins.dga import DgaStandIn
from tests.compliance import worker_support as support

SLOT = support.utc("2026-11-28T12:00:00")
RUN = [sys.executable, "-c", "from caudal.cli import main; main()", "compliance", "run-once", "--json"]


class HoldingStandIn(DgaStandIn):
    """Signals when a POST stored a measurement, then holds the reply until told to let go."""

    def __init__(self, clock) -> None:
        super().__init__(support.REGISTRY, support.RUT_EMPRESA, clock, hang_s=30)
        self.stored_one = asyncio.Event()
        self.let_go = asyncio.Event()
        self.hold = True

    async def _post(self, request: web.Request) -> web.StreamResponse:
        before = len(self.stored)
        response = await super()._post(request)
        if self.hold and len(self.stored) > before:
            self.stored_one.set()
            await self.let_go.wait()
        return response


async def run_once(database_url: str, now: str, *, kill_when: asyncio.Event | None = None) -> int:
    env = {
        **os.environ,
        "CAUDAL_DATABASE_URL": database_url,
        "CAUDAL_SECRET_KEY": support.SECRET_KEY,
        "CAUDAL_DGA_RUT_EMPRESA": support.RUT_EMPRESA,
        "CAUDAL_COMPLIANCE_MIN_INTERVAL_S": "0",
        "CAUDAL_COMPLIANCE_TIMEOUT_S": "10",
        "CAUDAL_COMPLIANCE_WORKER_ID": f"worker-{now}",
    }
    process = await asyncio.create_subprocess_exec(
        *RUN, "--now", now, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    if kill_when is not None:
        await asyncio.wait_for(kill_when.wait(), 30)
        process.send_signal(signal.SIGKILL)
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert kill_when is not None or process.returncode == 0, stderr.decode()
    return process.returncode


def exchanges(stand_in: DgaStandIn) -> list[tuple[str, str]]:
    """(method, what) of every request: the timeStampOrigen of a POST, the comprobante asked by a GET."""
    return [
        (r["method"], r["headers"]["timeStampOrigen"] if r["method"] == "POST" else r["query"]["numeroComprobante"])
        for r in stand_in.received
    ]


def in_flight(db) -> tuple[str, bool]:
    with db.connect() as conn:
        state = conn.fetchval("SELECT state FROM compliance_submissions")
        open_attempts = conn.fetchval("SELECT COUNT(*) AS n FROM compliance_attempts WHERE finished_at IS NULL")
    return state, open_attempts == 1


@pytest.fixture
async def dga(clock):
    stand_in = HoldingStandIn(clock)
    async with serve(stand_in.app(), stand_in, "127.0.0.1", 0):
        yield stand_in
        stand_in.let_go.set()


async def test_a_worker_killed_mid_send_never_resends_blindly_nor_after_acceptance(db, database_url, clock, dga):
    point_id = support.seed(db, clock.now())
    support.add_readings(db, point_id, SLOT, flow=10.5, totalizer=1000, water_table=30)
    support.configure_dga(db, point_id, dga.url, clock.now(), valid_to="2026-11-28T12:30:00Z")

    assert await run_once(database_url, "2026-11-28T13:00:00Z", kill_when=dga.stored_one) == -signal.SIGKILL
    dga.hold = False
    dga.let_go.set()
    after_kill = in_flight(db)
    await run_once(database_url, "2026-11-28T13:01:00Z")  # the dead worker's claim still holds
    await run_once(database_url, "2026-11-28T13:05:00Z")  # claim ran out: resolved, not resent
    after_resolve = support.ledger(db)
    await run_once(database_url, "2026-11-29T13:05:00Z")  # the following day: resent once
    await run_once(database_url, "2026-11-30T13:05:00Z")  # accepted: never POSTed again

    (stored,) = dga.stored.values()
    assert after_kill == ("sending", True)
    assert after_resolve == [(SLOT.isoformat(), "retry_scheduled", None)]
    assert exchanges(dga) == [
        ("POST", "2026-11-28T09:00:00-0000"),
        ("POST", "2026-11-29T09:05:00-0000"),
        ("GET", stored.comprobante),
    ]
    assert [r["body"] for r in dga.received if r["method"] == "POST"] == [
        support.body("2026-11-28", "08:00:00", "10.50", "1000", "30.00")
    ] * 2
    assert support.ledger(db) == [(SLOT.isoformat(), "accepted", stored.comprobante)]
