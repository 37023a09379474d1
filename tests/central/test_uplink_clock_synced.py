"""The gateway's ``clock_synced`` in the API is what its agent saw: the whole agent against the
real central app (uvicorn on 127.0.0.1), SQLite and PostgreSQL.

An agent that starts on an unsynchronised clock (a gateway without RTC after boot) must not
report ``clock_synced: true`` in its first heartbeat, sent before its first poll.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from central.db import Database
from edge.agent import run_agent
from edge.simulator.runner import run_simulator
from edge.systemd import Notifier
from protocols.clock import ManualClock
from tests.central.uplink_support import gw_norte_site
from tests.edge.sites import meter, simulated
from tests.edge.uplink_server import until

BEFORE_THE_FIRST_POLL = "2026-11-28T13:00:01+00:00"  # a 60 s device is first read at 13:01:00


def gateway_clock_synced(db: Database) -> bool | None:
    with db.connect() as conn:
        return conn.fetchval("SELECT clock_synced FROM gateways WHERE name = 'gw-norte' AND last_seen_at IS NOT NULL")


@pytest.mark.parametrize("synced", [False, True])
async def test_the_first_heartbeat_reports_the_clock_the_agent_sees(central, tmp_path: Path, synced: bool):
    url, db = central
    clock = ManualClock(BEFORE_THE_FIRST_POLL)
    async with run_simulator(simulated(meter(1)), clock) as sim:
        config = gw_norte_site(tmp_path, sim.tcp_port, url)
        stop = asyncio.Event()
        agent = asyncio.create_task(run_agent(config, clock, stop, notifier=Notifier(""), clock_synced=lambda: synced))
        await until(lambda: gateway_clock_synced(db) is not None, timeout_s=10)
        stop.set()
        await asyncio.wait_for(agent, 10)
    assert bool(gateway_clock_synced(db)) is synced
    with db.connect() as conn:
        assert conn.fetchval("SELECT COUNT(*) FROM readings") == 0  # nothing polled yet: the heartbeat said it
