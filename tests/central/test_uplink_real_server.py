"""The edge's Buffer + Uploader against the real central app served by uvicorn on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

import pytest

from central.db import Database
from edge.buffer import PolledReading
from edge.http import HttpReply, HttpTransport, Sent, UplinkTimeout
from edge.uploader import UploadFailed
from protocols.clock import ManualClock
from protocols.uplink import Quality
from tests.central.telemetry_support import START
from tests.central.uplink_support import uploading


class LosesFirstReply:
    """A real HTTP transport whose first reply is lost on the way back: the server has stored
    the batch, the edge sees a timeout."""

    def __init__(self) -> None:
        self.inner = HttpTransport(timeout_s=10)
        self.posts = 0

    async def post(self, url: str, body: bytes, headers: Mapping[str, str], sent: Sent | None = None) -> HttpReply:
        reply = await self.inner.post(url, body, headers, sent)
        self.posts += 1
        if self.posts == 1:
            raise UplinkTimeout(f"no reply from {url} (reply lost)")
        return reply

    async def close(self) -> None:
        await self.inner.close()


def polled(clock: ManualClock, count: int) -> list[PolledReading]:
    start = clock.now() - timedelta(minutes=count)
    return [
        PolledReading("dev-1", "P1", "flow", start + timedelta(minutes=i), float(i + 1), "L/s", Quality.GOOD)
        for i in range(count)
    ]


def stored_flows(db: Database) -> list[float]:
    with db.connect() as conn:
        return [row["value"] for row in conn.fetchall("SELECT value FROM readings WHERE variable = 'flow' ORDER BY ts")]


async def test_buffered_readings_arrive_once_and_leave_the_buffer(central, tmp_path: Path):
    url, db = central
    clock = ManualClock(START)
    async with uploading(url, tmp_path / "buffer.db", clock, polled(clock, 5)) as (buffer, uploader):
        assert await uploader.upload_once() == 5
        assert buffer.pending() == []
    assert stored_flows(db) == [1.0, 2.0, 3.0, 4.0, 5.0]


async def test_a_resend_after_a_lost_reply_stores_once(central, tmp_path: Path):
    url, db = central
    clock = ManualClock(START)
    transport = LosesFirstReply()
    readings = polled(clock, 3)
    async with uploading(url, tmp_path / "buffer.db", clock, readings, transport=transport) as (buffer, uploader):
        try:
            with pytest.raises(UploadFailed):
                await uploader.upload_once()
            assert len(buffer.pending()) == 3
            assert await uploader.upload_once() == 3
        finally:
            await transport.close()
        assert buffer.pending() == []
    assert stored_flows(db) == [1.0, 2.0, 3.0]
    with db.connect() as conn:
        assert conn.fetchval("SELECT agent_version FROM gateways WHERE name = 'gw-norte'") == "test"
