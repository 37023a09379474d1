"""The uploader sends the batch after an accepted one before deleting the accepted one (issue 16):
what the server and the buffer see, against a real aiohttp ingest stand-in on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from edge.buffer import Buffer
from edge.http import HttpTransport
from edge.uploader import UploadFailed
from protocols.clock import ManualClock
from protocols.uplink import INGEST_PATH
from tests.edge.test_uploader import cycle, make_uploader
from tests.edge.uplink_server import GATEWAY_TOKEN, Fault, UplinkServer, until


@pytest.fixture
def buffer(tmp_path: Path) -> Iterator[Buffer]:
    """Three poll cycles of two readings (seqs 1..6), 3, 2 and 1 s old."""
    with Buffer.open(tmp_path / "buffer.db") as opened:
        for seconds_ago in (3, 2, 1):
            opened.append(cycle(seconds_ago))
        yield opened


def seqs(server: UplinkServer) -> list[list[int]]:
    return [[reading.seq for reading in batch.readings] for batch in server.batches]


async def test_the_batch_after_an_accepted_one_is_on_its_way_before_the_call_returns(
    server: UplinkServer, buffer: Buffer, clock: ManualClock
):
    uploader = make_uploader(server, buffer, clock, batch_size=2)
    server.faults.extend([Fault(), Fault(hang_s=0.2)])
    assert await uploader.upload_once() == 2
    await until(lambda: len(server.received) == 2)  # without another call
    assert ([await uploader.upload_once(), await uploader.upload_once()], seqs(server)) == (
        [2, 2],
        [[1, 2], [3, 4], [5, 6]],
    )
    await uploader.close()


async def test_a_batch_sent_ahead_reports_the_buffer_as_it_is_once_the_accepted_one_is_deleted(
    server: UplinkServer, buffer: Buffer, clock: ManualClock
):
    uploader = make_uploader(server, buffer, clock, batch_size=2)
    assert [await uploader.upload_once() for _ in range(4)] == [2, 2, 2, 0]
    assert [(batch.agent.buffer_depth, batch.agent.oldest_unsent_s) for batch in server.batches if batch.agent] == [
        (6, 3.0),
        (4, 2.0),
        (2, 1.0),
        (0, None),
    ]
    await uploader.close()


async def test_a_batch_sent_ahead_whose_reply_is_lost_is_stored_once(
    server: UplinkServer, buffer: Buffer, clock: ManualClock
):
    uploader = make_uploader(server, buffer, clock, batch_size=2)
    server.faults.extend([Fault(), Fault(drop_after_store=True)])
    assert await uploader.upload_once() == 2
    with pytest.raises(UploadFailed, match=r"^http://127\.0\.0\.1:\d+/api/v1/ingest: Server disconnected$"):
        await uploader.upload_once()
    assert [await uploader.upload_once(), await uploader.upload_once()] == [2, 2]
    assert (
        seqs(server),
        sorted(reading.seq for reading in server.stored.values()),
        server.duplicates,
        buffer.stats().depth,
    ) == ([[1, 2], [3, 4], [3, 4], [5, 6]], [1, 2, 3, 4, 5, 6], 2, 0)
    await uploader.close()


async def test_closing_with_a_batch_sent_ahead_keeps_its_readings(
    server: UplinkServer, buffer: Buffer, clock: ManualClock
):
    uploader = make_uploader(server, buffer, clock, batch_size=2)
    server.faults.extend([Fault(), Fault(hang_s=5)])
    assert await uploader.upload_once() == 2
    await uploader.close()
    assert ([reading.seq for reading in buffer.pending()], len(server.stored)) == ([3, 4, 5, 6], 2)


async def test_the_transport_tells_when_the_body_is_on_its_way_before_the_reply(server: UplinkServer):
    transport = HttpTransport(timeout_s=10)
    server.faults.append(Fault(hang_s=5))
    sent = asyncio.Event()
    reply = asyncio.ensure_future(
        transport.post(server.url + INGEST_PATH, b"{}", {"Authorization": f"Bearer {GATEWAY_TOKEN}"}, sent.set)
    )
    await asyncio.wait_for(sent.wait(), 5)
    await until(lambda: len(server.received) == 1)
    assert (reply.done(), server.received[0].body) == (False, b"{}")
    reply.cancel()
    await transport.close()
