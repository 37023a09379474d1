"""The uploader against a real aiohttp ingest stand-in on 127.0.0.1, time driven by a ManualClock."""

from __future__ import annotations

import asyncio
import gzip
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from edge.buffer import Buffer, PolledReading
from edge.http import HttpTransport
from edge.uploader import Uploader, UploaderState, UploadFailed
from protocols.clock import ManualClock
from protocols.uplink import AgentStatus, Batch, Quality
from tests.edge.uplink_server import GATEWAY_TOKEN, Fault, UplinkServer, advance, until

NOW = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)


def cycle(seconds_ago: int, variables: int = 2) -> list[PolledReading]:
    return [
        PolledReading(
            "caudalimetro-pozo-1",
            "OB-0601-444",
            f"v{index}",
            NOW - timedelta(seconds=seconds_ago),
            1.5,
            "L/s",
            Quality.GOOD,
        )
        for index in range(variables)
    ]


@pytest.fixture
def buffer(tmp_path: Path) -> Iterator[Buffer]:
    with Buffer.open(tmp_path / "buffer.db") as opened:
        yield opened


@pytest.fixture
async def uploader(server: UplinkServer, buffer: Buffer, clock: ManualClock) -> AsyncIterator[Uploader]:
    made = make_uploader(server, buffer, clock)
    yield made
    await made.close()


def make_uploader(
    server: UplinkServer, buffer: Buffer, clock: ManualClock, token: str = GATEWAY_TOKEN, **options: object
) -> Uploader:
    """The uploader of gateway gw-norte-01 (agent version 1.2.3), sending to ``server``."""
    return Uploader(
        gateway="gw-norte-01",
        central_url=server.url,
        token=token,
        buffer=buffer,
        clock=clock,
        version="1.2.3",
        **options,
    )


@asynccontextmanager
async def running(uploader: Uploader) -> AsyncIterator[asyncio.Event]:
    """``uploader.run`` in a task; stopped (within a real second) on exit."""
    stop = asyncio.Event()
    task = asyncio.create_task(uploader.run(stop))
    try:
        yield stop
    finally:
        stop.set()
        await asyncio.wait_for(task, 1)


async def test_a_batch_is_stored_once_and_deleted_from_the_buffer(
    uploader: Uploader, buffer: Buffer, server: UplinkServer
):
    for seconds_ago in (120, 60, 0):
        buffer.append(cycle(seconds_ago))
    sent = buffer.pending()
    assert await uploader.upload_once() == 6
    assert sorted(server.stored.values(), key=lambda reading: reading.seq) == sent
    assert buffer.stats().depth == 0
    assert uploader.state == UploaderState(
        last_attempt=NOW, last_success=NOW, last_error=None, uploaded_total=6, stopped_reason=None
    )


async def test_the_batch_on_the_wire_carries_the_readings_and_the_agent_status(
    uploader: Uploader, buffer: Buffer, server: UplinkServer
):
    buffer.append(cycle(30))
    sent = buffer.pending()
    await uploader.upload_once()
    assert server.batches == [
        Batch(
            gateway="gw-norte-01",
            sent_at=NOW,
            readings=sent,
            agent=AgentStatus(
                version="1.2.3", buffer_depth=2, oldest_unsent_s=30.0, dropped_total=0, clock_synced=True
            ),
        )
    ]


async def test_the_body_is_gzip_with_the_bearer_token(uploader: Uploader, buffer: Buffer, server: UplinkServer):
    buffer.append(cycle(0, variables=50))
    await uploader.upload_once()
    (request,) = server.received
    assert (request.headers["Content-Encoding"], request.headers["Content-Type"], request.headers["Authorization"]) == (
        "gzip",
        "application/json",
        f"Bearer {GATEWAY_TOKEN}",
    )
    assert request.body[:2] == b"\x1f\x8b"
    assert len(request.body) < len(gzip.decompress(request.body)) / 4


async def test_a_backlog_drains_oldest_first_in_batches(server: UplinkServer, buffer: Buffer, clock: ManualClock):
    for seconds_ago in range(6, 0, -1):
        buffer.append(cycle(seconds_ago))
    uploader = make_uploader(server, buffer, clock, batch_size=5)
    async with running(uploader):
        await advance(clock, 0)
    assert [[reading.seq for reading in batch.readings] for batch in server.batches] == [
        [1, 2, 3, 4, 5],
        [6, 7, 8, 9, 10],
        [11, 12],
    ]
    assert buffer.stats().depth == 0


async def test_a_batch_read_ahead_of_a_failed_one_is_not_sent_before_it(
    server: UplinkServer, buffer: Buffer, clock: ManualClock
):
    for seconds_ago in range(3, 0, -1):
        buffer.append(cycle(seconds_ago))
    uploader = make_uploader(server, buffer, clock, batch_size=2)
    server.faults.extend([Fault(), Fault(status=500)])  # the second batch fails after the third was read
    async with running(uploader):
        await advance(clock, 2)
    assert (
        [[reading.seq for reading in batch.readings] for batch in server.batches],
        sorted(reading.seq for reading in server.stored.values()),
        buffer.stats().depth,
    ) == ([[1, 2], [3, 4], [3, 4], [5, 6]], [1, 2, 3, 4, 5, 6], 0)


async def test_a_backlog_drain_reads_each_batch_while_the_one_before_is_in_flight(
    server: UplinkServer, buffer: Buffer, clock: ManualClock
):
    for seconds_ago in range(2, 0, -1):
        buffer.append(cycle(seconds_ago))
    uploader = make_uploader(server, buffer, clock, batch_size=3)
    server.faults.append(Fault(hang_s=0.2))
    first = asyncio.create_task(uploader.upload_once())
    await until(lambda: len(server.received) == 1)
    buffer.append(cycle(0))  # after the next batch ([4]) was read: these wait for the one after it
    assert [await first, await uploader.upload_once(), await uploader.upload_once()] == [3, 1, 2]
    assert [[reading.seq for reading in batch.readings] for batch in server.batches] == [[1, 2, 3], [4], [5, 6]]


async def test_nothing_is_deleted_before_a_2xx(
    uploader: Uploader, buffer: Buffer, server: UplinkServer, clock: ManualClock
):
    buffer.append(cycle(0))
    server.faults.append(Fault(status=500))
    async with running(uploader):
        await advance(clock, 0)
        assert (buffer.stats().depth, uploader.state.last_error) == (2, "HTTP 500: fault injected by the test")
        await advance(clock, 2)
    assert (buffer.stats().depth, len(server.received), len(server.stored)) == (0, 2, 2)


async def test_a_timeout_keeps_the_readings_and_the_resend_stores_them_once(
    server: UplinkServer, buffer: Buffer, clock: ManualClock
):
    transport = HttpTransport(timeout_s=0.2)
    uploader = make_uploader(server, buffer, clock, transport=transport)
    buffer.append(cycle(0))
    server.faults.append(Fault(hang_s=5))
    with pytest.raises(UploadFailed, match=r"http://127\.0\.0\.1:\d+/api/v1/ingest no respondió en 0\.2 s"):
        await uploader.upload_once()
    assert buffer.stats().depth == 2
    assert await uploader.upload_once() == 2
    assert (buffer.stats().depth, len(server.stored)) == (0, 2)
    await transport.close()


async def test_a_reply_lost_after_storing_is_resent_and_stored_once(
    uploader: Uploader, buffer: Buffer, server: UplinkServer
):
    buffer.append(cycle(0, variables=3))
    server.faults.append(Fault(drop_after_store=True))
    with pytest.raises(UploadFailed, match="Server disconnected"):
        await uploader.upload_once()
    assert buffer.stats().depth == 3
    assert await uploader.upload_once() == 3
    assert (buffer.stats().depth, len(server.stored), server.duplicates) == (0, 3, 3)


@pytest.mark.parametrize(
    ("token", "faults", "reason"),
    [
        ("wrong-token", [], "HTTP 401: invalid or missing gateway token"),
        (
            GATEWAY_TOKEN,
            [Fault(status=403, detail="point OB-9 is not assigned to gw-norte-01")] * 10,
            "HTTP 403: point OB-9 is not assigned to gw-norte-01",
        ),
    ],
)
async def test_a_refusal_stops_uploads_logs_once_and_rechecks_every_ten_minutes(
    server: UplinkServer,
    buffer: Buffer,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
    token: str,
    faults: list[Fault],
    reason: str,
):
    buffer.append(cycle(0))
    server.faults.extend(faults)
    uploader = make_uploader(server, buffer, clock, token=token)
    with caplog.at_level(logging.INFO, logger="caudal.edge.uploader"):
        async with running(uploader):
            await advance(clock, 3600, step=10)
    assert len(server.received) == 7  # t = 0, 600, ..., 3600
    assert [r.levelname for r in caplog.records] == ["ERROR"]
    assert (uploader.state.stopped_reason, buffer.stats().depth) == (reason, 2)


async def test_uploads_resume_once_the_token_is_accepted_again(
    server: UplinkServer, buffer: Buffer, clock: ManualClock, caplog: pytest.LogCaptureFixture
):
    buffer.append(cycle(0))
    server.token = "rotated-token"
    uploader = make_uploader(server, buffer, clock)
    with caplog.at_level(logging.INFO, logger="caudal.edge.uploader"):
        async with running(uploader):
            await advance(clock, 0)
            server.token = GATEWAY_TOKEN  # the operator fixed the server side
            await advance(clock, 600, step=10)
    assert (uploader.state.stopped_reason, buffer.stats().depth) == (None, 0)
    assert [r.message for r in caplog.records][-1] == (
        "subidas reanudadas tras: HTTP 401: invalid or missing gateway token"
    )


@pytest.mark.parametrize(
    ("status", "retry_after"),
    [
        (429, "120"),
        (503, "120"),
        (429, format_datetime(NOW + timedelta(seconds=120), usegmt=True)),
    ],
)
async def test_retry_after_is_honoured(
    uploader: Uploader, buffer: Buffer, server: UplinkServer, clock: ManualClock, status: int, retry_after: str
):
    buffer.append(cycle(0))
    server.faults.append(Fault(status=status, retry_after=retry_after))
    async with running(uploader):
        await advance(clock, 119)
        assert (len(server.received), buffer.stats().depth) == (1, 2)
        await advance(clock, 1)
        assert (len(server.received), buffer.stats().depth) == (2, 0)


async def test_a_413_halves_the_batch_size(server: UplinkServer, buffer: Buffer, clock: ManualClock):
    server.max_readings = 4
    buffer.append(cycle(0, variables=8))
    uploader = make_uploader(server, buffer, clock, batch_size=8)
    async with running(uploader):
        await advance(clock, 0)
    assert [len(batch.readings) for batch in server.batches] == [8, 4, 4]
    assert (uploader.batch_size, buffer.stats().depth) == (4, 0)


async def test_a_422_logs_the_servers_message_keeps_the_readings_and_backs_off(
    uploader: Uploader, buffer: Buffer, server: UplinkServer, clock: ManualClock, caplog: pytest.LogCaptureFixture
):
    buffer.append(cycle(0))
    server.faults.append(Fault(status=422, detail="readings.0.unit: unknown unit 'furlong'"))
    with caplog.at_level(logging.WARNING, logger="caudal.edge.uploader"):
        async with running(uploader):
            await advance(clock, 0)
            assert (len(server.received), buffer.stats().depth) == (1, 2)
    assert [r.message for r in caplog.records] == [
        "falló la subida de 2 lecturas: HTTP 422: readings.0.unit: unknown unit 'furlong'"
    ]


async def test_a_heartbeat_is_sent_when_empty_and_carries_the_counters(
    server: UplinkServer, tmp_path: Path, clock: ManualClock
):
    with Buffer.open(tmp_path / "small.db", max_mb=0.25) as buffer:
        for seconds_ago in range(30, 0, -1):
            buffer.append(cycle(seconds_ago, variables=200))
        buffer.acknowledge(reading.seq for reading in buffer.pending(limit=10_000))
        dropped = buffer.stats().dropped_total
        uploader = make_uploader(server, buffer, clock, heartbeat_s=60, clock_synced=lambda: False)
        async with running(uploader):
            await advance(clock, 60)
    status = AgentStatus(
        version="1.2.3", buffer_depth=0, oldest_unsent_s=None, dropped_total=dropped, clock_synced=False
    )
    assert dropped > 0
    assert server.batches == [
        Batch(gateway="gw-norte-01", sent_at=NOW + timedelta(seconds=s), agent=status) for s in (0, 60)
    ]


async def test_wake_uploads_new_readings_without_waiting_for_the_heartbeat(
    uploader: Uploader, buffer: Buffer, server: UplinkServer, clock: ManualClock
):
    async with running(uploader):
        await advance(clock, 0)
        buffer.append(cycle(0))
        uploader.wake()
        await until(lambda: len(server.batches) == 2)
    assert ([len(batch.readings) for batch in server.batches], clock.now()) == ([0, 2], NOW)


async def test_a_stop_during_a_backoff_ends_run_promptly_and_leaves_the_buffer_open_and_intact(
    uploader: Uploader, buffer: Buffer, server: UplinkServer, clock: ManualClock
):
    buffer.append(cycle(0))
    server.faults.extend([Fault(status=500)] * 3)
    async with running(uploader) as stop:
        await advance(clock, 0)
        stop.set()
    assert (len(server.received), buffer.stats().depth) == (1, 2)
    assert buffer.append(cycle(0, variables=1)) == 1
    assert [reading.seq for reading in buffer.pending()] == [1, 2, 3]


@pytest.mark.parametrize("batch_size", [0, 5001])
async def test_a_batch_size_outside_the_contract_is_refused(
    server: UplinkServer, buffer: Buffer, clock: ManualClock, batch_size: int
):
    with pytest.raises(ValueError, match=f"batch_size de la subida debe estar entre 1 y 5000, se recibió {batch_size}"):
        make_uploader(server, buffer, clock, batch_size=batch_size)
