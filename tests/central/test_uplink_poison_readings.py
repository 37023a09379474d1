"""Readings the server refuses for good must not stop a gateway's uploads: the edge's agent and
uploader against the real central app (uvicorn on 127.0.0.1), SQLite and PostgreSQL.

A gateway without RTC boots at 1970: its agent polls nothing until the clock is set. Readings
dated 1970 already in a buffer (from an agent before that rule) are refused by the server (422
naming each one); the uploader sets them aside in the ``.setaside`` file (counted, shown by
``caudal edge status``, reported to the server with the drops) and the backlog behind them goes on.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from central.db import Database
from edge.agent import run_agent
from edge.buffer import PolledReading
from edge.cli import status_lines
from edge.setaside import count_set_aside, setaside_path
from edge.simulator.runner import run_simulator
from edge.state import status_report
from edge.systemd import Notifier
from edge.uploader import UploadFailed
from protocols.clock import ManualClock
from protocols.uplink import Quality
from tests.central.telemetry_support import START
from tests.central.uplink_support import gw_norte_site, uploading
from tests.edge.sites import meter, simulated

BOOT = datetime(1970, 1, 1, 0, 0, 30, tzinfo=UTC)


def polled(start: datetime, minutes: int) -> list[PolledReading]:
    return [
        PolledReading("pozo-1", "P1", "flow", start + timedelta(minutes=i), float(i + 1), "L/s", Quality.GOOD)
        for i in range(minutes)
    ]


def stored(db: Database) -> list[tuple[str, float]]:
    with db.connect() as conn:
        rows = conn.fetchall("SELECT r.ts, r.value FROM readings r WHERE r.variable = 'flow' ORDER BY r.ts")
    return [(str(row["ts"])[:16], row["value"]) for row in rows]


def reported_drops(db: Database) -> int | None:
    with db.connect() as conn:
        return conn.fetchval("SELECT dropped_total FROM gateways WHERE name = 'gw-norte'")


async def test_readings_dated_1970_are_set_aside_and_the_backlog_behind_them_goes_on(central, tmp_path: Path, caplog):
    url, db = central
    clock = ManualClock(START)
    readings = polled(BOOT, 2) + polled(clock.now() - timedelta(minutes=3), 3)
    async with uploading(url, tmp_path / "buffer.db", clock, readings) as (buffer, uploader):
        with caplog.at_level(logging.ERROR, logger="caudal.edge.uploader"), pytest.raises(UploadFailed) as refused:
            await uploader.upload_once()
        assert (str(refused.value), refused.value.retry_after) == ("HTTP 422: 2 lecturas apartadas", 0.0)
        assert await uploader.upload_once() == 3
        assert buffer.pending() == []
    assert stored(db) == [("2026-11-28 12:57", 1.0), ("2026-11-28 12:58", 2.0), ("2026-11-28 12:59", 3.0)]
    assert reported_drops(db) == 2
    [record] = caplog.records
    assert record.getMessage() == (
        "el servidor central rechaza para siempre 2 lecturas del gateway gw-norte (primera: seq 1, pozo-1/flow: ts: "
        "1970-01-01T00:00:30Z es anterior a 2000-01-01T00:00:00Z: ninguna lectura es tan antigua (¿estaba en hora el"
        f" reloj del gateway?)); apartadas en {setaside_path(tmp_path / 'buffer.db')} (2 en total, informadas con las"
        " perdidas), las demás lecturas siguen"
    )
    kept = [json.loads(line) for line in setaside_path(tmp_path / "buffer.db").read_text().splitlines()]
    assert [(k["seq"], k["point"], k["variable"], k["value"], k["set_aside_at"]) for k in kept] == [
        (1, "P1", "flow", 1.0, START),
        (2, "P1", "flow", 2.0, START),
    ]


async def test_status_counts_the_readings_set_aside(central, tmp_path: Path):
    url, _ = central
    clock = ManualClock(START)
    async with uploading(url, tmp_path / "buffer.db", clock, polled(BOOT, 3)) as (_, uploader):
        with pytest.raises(UploadFailed):
            await uploader.upload_once()
    assert count_set_aside(tmp_path / "buffer.db") == 3
    assert status_lines(status_report(tmp_path / "buffer.db"))[0] == (
        f"buffer {tmp_path / 'buffer.db'}: 0 pendientes, más antigua -, perdidas 0, apartadas 3, 0.0 MB"
    )


async def test_a_reading_refused_again_after_a_crash_is_kept_once(central, tmp_path: Path):
    """A crash after keeping the readings but before deleting them: the next refusal keeps no copy."""
    url, _ = central
    clock = ManualClock(START)
    async with uploading(url, tmp_path / "buffer.db", clock, polled(BOOT, 2)) as (buffer, uploader):
        uploader.set_aside.keep(buffer.pending_rows(), {1: "ts: refused"}, clock.now())
        with pytest.raises(UploadFailed):
            await uploader.upload_once()
        assert buffer.pending() == []
    assert len(setaside_path(tmp_path / "buffer.db").read_text().splitlines()) == 2


async def test_an_agent_booting_at_1970_polls_nothing_until_its_clock_is_set(central, tmp_path: Path):
    url, db = central
    clock = ManualClock(BOOT)
    async with run_simulator(simulated(meter(1)), ManualClock(START)) as sim:  # the meter's own time
        config = gw_norte_site(tmp_path, sim.tcp_port, url)
        stop = asyncio.Event()
        agent = asyncio.create_task(run_agent(config, clock, stop, notifier=Notifier(""), clock_synced=lambda: False))
        await clock.run_for(180)  # three 1970 slots come and go
        clock.set("2026-11-28T12:59:58+00:00")  # NTP sets the clock
        for _ in range(400):  # the uploader's backoff after its refused 1970 heartbeats: at most 300 s
            if stored(db):
                break
            await clock.run_for(1)
            await asyncio.sleep(0.02)
        stop.set()
        await asyncio.wait_for(agent, 10)
    assert stored(db)[0] == ("2026-11-28 13:00", 12.5)  # the first slot after the clock was set
    assert count_set_aside(tmp_path / "buffer.db") == 0
