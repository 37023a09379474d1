"""One device with a wrong point must not stop a gateway's uploads: the edge's Buffer + Uploader
against the real central app (uvicorn on 127.0.0.1), SQLite and PostgreSQL.

The server refuses the batch (403, nothing stored) naming the foreign point; the uploader holds
that point's readings back in the buffer, says so at once, sends the others, and offers the
held ones again after the recheck time, when a corrected assignment lets them through.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from central.app import create_app
from central.db import Database
from central.settings import Settings
from edge.buffer import Buffer, PolledReading
from edge.held import HOLD_RECHECK_S
from edge.uploader import UploadFailed, Uploader
from protocols.clock import ManualClock
from protocols.uplink import Quality
from tests.central.served import serving
from tests.central.telemetry_support import GATEWAY_TOKEN, START, seed_site


@pytest.fixture
def central(settings: Settings, port: int) -> Iterator[tuple[str, Database]]:
    app = create_app(settings, clock=ManualClock(START))
    db = app.state.ctx.db
    with db.transaction() as conn:
        seed_site(conn, ManualClock(START).now())
    with serving(app, port) as url:
        yield url, db


def polled(clock: ManualClock, device: str, point: str, minutes: int) -> list[PolledReading]:
    start = clock.now() - timedelta(minutes=minutes)
    return [PolledReading(device, point, "flow", start + timedelta(minutes=i), float(i + 1), "L/s", Quality.GOOD)
            for i in range(minutes)]


def stored(db: Database) -> list[tuple[str, float]]:
    with db.connect() as conn:
        rows = conn.fetchall("SELECT p.code, r.value FROM readings r JOIN points p ON p.id = r.point_id"
                             " WHERE r.variable = 'flow' ORDER BY p.code, r.ts")
    return [(row["code"], row["value"]) for row in rows]


async def test_a_foreign_point_is_held_back_and_the_others_go_on(central, tmp_path: Path, caplog):
    url, db = central
    clock = ManualClock(START)
    with Buffer.open(tmp_path / "buffer.db") as buffer:
        buffer.append(polled(clock, "pozo-3", "P3", 2) + polled(clock, "pozo-1", "P1", 3))  # P3 is gw-sur's
        uploader = Uploader(gateway="gw-norte", central_url=url, token=GATEWAY_TOKEN, buffer=buffer, clock=clock,
                            version="test")
        try:
            with caplog.at_level(logging.ERROR, logger="caudal.edge.uploader"), pytest.raises(UploadFailed) as refused:
                await uploader.upload_once()
            assert refused.value.retry_after == 0.0
            assert await uploader.upload_once() == 3
            assert (stored(db), [r.point for r in buffer.pending()]) == ([("P1", 1.0), ("P1", 2.0), ("P1", 3.0)],
                                                                        ["P3", "P3"])
            assert uploader.state.held == ("readings of point(s) P3 held back: the central server refuses them for "
                                           "this gateway")
        finally:
            await uploader.close()
    [record] = caplog.records
    assert record.getMessage().startswith(
        "the central server refuses point(s) P3 for gateway gw-norte (gateway 'gw-norte' may not write point(s) P3"
        " (device pozo-3): ")


async def test_held_readings_go_once_the_server_assigns_their_point(central, tmp_path: Path):
    url, db = central
    clock = ManualClock(START)
    with Buffer.open(tmp_path / "buffer.db") as buffer:
        buffer.append(polled(clock, "pozo-3", "P3", 2) + polled(clock, "pozo-1", "P1", 1))
        uploader = Uploader(gateway="gw-norte", central_url=url, token=GATEWAY_TOKEN, buffer=buffer, clock=clock,
                            version="test")
        try:
            with pytest.raises(UploadFailed):
                await uploader.upload_once()
            assert await uploader.upload_once() == 1
            clock.advance(HOLD_RECHECK_S - 1)
            assert await uploader.upload_once() == 0  # still held: a heartbeat
            with db.transaction() as conn:
                conn.execute("UPDATE gateway_points SET gateway_id = (SELECT id FROM gateways WHERE name = 'gw-norte')"
                             " WHERE point_id = (SELECT id FROM points WHERE code = 'P3')")
            clock.advance(1)
            assert await uploader.upload_once() == 2
        finally:
            await uploader.close()
        assert buffer.pending() == []
    assert stored(db) == [("P1", 1.0), ("P3", 1.0), ("P3", 2.0)]
    assert uploader.state.held is None
