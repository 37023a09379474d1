"""The buffer on a real full disk (a small tmpfs): it opens, uploads free room, losses are counted for good.

Issue 13: a buffer closed cleanly could not be reopened once the disk was full (its WAL index
and WAL need room), and the cycles lost while the disk was full were counted only in memory.
The kill -9 test runs this file as a script: a writer that appends one poll cycle per line it
reads on stdin and reports each outcome, so the test kills it while it is idle, between cycles,
and knows exactly what it produced.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge.agent import run_agent
from edge.buffer import Buffer, BufferUnusable, PolledReading
from edge.bufferfiles import RESERVE_BYTES, lost_path, read_lost, reserve_path
from edge.simulator.runner import run_simulator
from edge.systemd import Notifier
from edge.uploader import Uploader, UploadFailed
from protocols.clock import ManualClock
from protocols.uplink import Quality
from tests.edge.sites import SystemdManager, device, meter, simulated, site, tcp_bus
from tests.edge.small_disk import fill, small_disk
from tests.edge.uplink_server import UplinkServer, until

T0 = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)
VARIABLES = 50
DISK_KIB = 4096


def cycle(second: int) -> list[PolledReading]:
    return [
        PolledReading(
            "pozo-1", "OB-0601-444", f"v{index}", T0 + timedelta(seconds=second), float(second), "L/s", Quality.GOOD
        )
        for index in range(VARIABLES)
    ]


@pytest.fixture
def disk(tmp_path: Path):
    with small_disk(tmp_path / "disk", DISK_KIB) as mounted:
        yield mounted


def ran_before(path: Path, cycles: int) -> None:
    """A buffer holding ``cycles`` cycles, closed cleanly (its WAL and WAL index are gone)."""
    with Buffer.open(path) as buffer:
        for second in range(cycles):
            buffer.append(cycle(second))


def test_a_buffer_closed_cleanly_opens_on_a_full_disk_and_uploading_frees_room_for_new_cycles(
    disk: Path, caplog: pytest.LogCaptureFixture
):
    path = disk / "buffer.db"
    ran_before(path, 10)
    fill(disk)
    with caplog.at_level(logging.WARNING, logger="caudal.edge.buffer"), Buffer.open(path) as buffer:
        uploaded = buffer.pending(limit=5 * VARIABLES)
        assert buffer.acknowledge(reading.seq for reading in uploaded) == 5 * VARIABLES
        assert buffer.append(cycle(10)) == VARIABLES
        stats = buffer.stats()
        kept = [reading.ts for reading in buffer.pending(limit=10_000)[::VARIABLES]]
    assert (stats.depth, stats.dropped_total, reserve_path(path).exists()) == (6 * VARIABLES, 0, False)
    assert kept == [T0 + timedelta(seconds=second) for second in (5, 6, 7, 8, 9, 10)]
    assert [r.getMessage() for r in caplog.records] == [
        f"disco lleno: se liberó la reserva de 1024 KiB {reserve_path(path)} para que el buffer siga funcionando"
    ]


def test_with_the_reserve_used_up_and_the_disk_still_full_opening_says_so(disk: Path):
    path = disk / "buffer.db"
    ran_before(path, 1)
    reserve_path(path).unlink()  # taken earlier by the same full disk
    fill(disk)
    with pytest.raises(BufferUnusable) as refused:
        Buffer.open(path)
    assert (
        str(refused.value)
        == f"no se puede abrir el buffer del gateway {path}: el disco está lleno; libere espacio en {disk}"
    )


def test_once_the_disk_has_room_again_the_reserve_is_set_aside_at_the_next_cycle(disk: Path):
    path = disk / "buffer.db"
    ran_before(path, 1)
    fill(disk)
    with Buffer.open(path) as buffer:
        assert not reserve_path(path).exists()
        (disk / "filler").unlink()
        assert buffer.append(cycle(1)) == VARIABLES
        assert reserve_path(path).stat().st_size == RESERVE_BYTES


def writer_outcomes(path: Path, disk: Path, losses: int) -> tuple[int, int]:
    """Run the writer, the disk refilled before every cycle, until ``losses`` cycles were lost;
    kill -9 it between cycles. Returns (cycles stored, cycles lost) as the writer reported them."""
    writer = subprocess.Popen(
        [sys.executable, "-m", __name__, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    outcomes: list[str] = []
    try:
        assert writer.stdin is not None and writer.stdout is not None
        assert writer.stdout.readline() == "ready\n"
        for number in range(1, 500):
            fill(disk)  # whatever filled the disk keeps filling it, the reserve's room too
            writer.stdin.write(f"{number}\n")
            writer.stdin.flush()
            outcomes.append(writer.stdout.readline().split()[0])
            if outcomes.count("lost") == losses:
                break
    finally:
        writer.kill()
        writer.wait()
    return outcomes.count("stored"), outcomes.count("lost")


def test_cycles_lost_on_a_full_disk_stay_counted_after_a_kill_9(disk: Path):
    path = disk / "buffer.db"
    ran_before(path, 1)
    stored, lost = writer_outcomes(path, disk, losses=3)
    with Buffer.open(path) as buffer:
        stats = buffer.stats()
    produced = (1 + stored + lost) * VARIABLES
    assert (lost, read_lost(lost_path(path))) == (3, 3 * VARIABLES)
    assert stats.depth + stats.dropped_total == produced


def buffer_refusing_deletes(path: Path, disk: Path) -> Buffer:
    """Open, reserve used up, disk refilled until even a cycle is lost: deletes are refused too."""
    ran_before(path, 1)
    buffer = Buffer.open(path)
    for number in range(1, 500):
        fill(disk)
        if not buffer.append(cycle(number)):
            return buffer
    buffer.close()
    raise AssertionError("the disk never got full enough to lose a cycle")


async def test_an_upload_the_full_disk_cannot_delete_is_sent_again_later_and_stored_once(
    disk: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture
):
    async with UplinkServer(token="t", clock=clock) as server:
        buffer = buffer_refusing_deletes(disk / "buffer.db", disk)
        uploader = Uploader(
            gateway="gw-test-01", central_url=server.url, token="t", buffer=buffer, clock=clock, version="test"
        )
        try:
            depth = buffer.stats().depth
            with caplog.at_level(logging.WARNING, logger="caudal.edge.uploader"), pytest.raises(UploadFailed):
                await uploader.upload_once()
            assert (len(server.stored), buffer.stats().depth) == (depth, depth)
            (disk / "filler").unlink()
            assert await uploader.upload_once() == depth
            assert (len(server.stored), server.duplicates, buffer.stats().depth) == (depth, depth, 0)
        finally:
            await uploader.close()
            buffer.close()
    assert [r.getMessage() for r in caplog.records if r.name == "caudal.edge.uploader"] == [
        f"falló la subida de {depth} lecturas: el servidor tiene las {depth} lecturas, pero el disco lleno no deja"
        " borrarlas del buffer; se envían de nuevo más tarde (el servidor las guarda una sola vez)"
    ]


async def test_the_agent_starts_on_a_full_disk_and_uploads(
    disk: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture
):
    """Restarted after a clean stop (no WAL, no WAL index), with the disk full: polling and uploading go on."""
    (disk.parent / "token").write_text("t")
    async with run_simulator(simulated(meter(1)), clock) as running, UplinkServer(token="t", clock=clock) as server:
        config = site(
            disk.parent,
            [tcp_bus(running.tcp_port)],
            [device("pozo-1", 1)],
            central_url=server.url,
            buffer_path="disk/buffer.db",
        )
        ran_before(config.gateway.buffer_path, 1)
        fill(disk)
        stop = asyncio.Event()
        with caplog.at_level(logging.WARNING):
            agent = asyncio.create_task(
                run_agent(config, clock, stop, notifier=Notifier(""), clock_synced=lambda: True)
            )
            for tick in range(1, 4):
                await until(lambda tick=tick: len(server.stored) == VARIABLES + 2 * tick)
                clock.advance(1)
            stop.set()
            await asyncio.wait_for(agent, 10)
    assert [(r.name, r.getMessage()) for r in caplog.records] == [
        (
            "caudal.edge.buffer",
            f"disco lleno: se liberó la reserva de 1024 KiB {reserve_path(config.gateway.buffer_path)}"
            " para que el buffer siga funcionando",
        )
    ]


async def test_a_state_file_the_full_disk_refuses_is_logged_once_and_once_when_it_clears(
    tmp_path: Path, disk: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture
):
    (tmp_path / "token").write_text("t")
    manager = SystemdManager(tmp_path / "notify.sock")

    async def tick() -> None:
        cycles = manager.count("WATCHDOG=1")
        clock.advance(1)
        await until(lambda: manager.count("WATCHDOG=1") > cycles)

    async with run_simulator(simulated(meter(1)), clock) as running:
        config = site(tmp_path, [tcp_bus(running.tcp_port)], [device("pozo-1", 1)], buffer_path="disk/buffer.db")
        stop = asyncio.Event()
        with caplog.at_level(logging.INFO, logger="edge.agent"):
            agent = asyncio.create_task(
                run_agent(
                    config, clock, stop, notifier=Notifier(str(manager.path)), clock_synced=lambda: True, flush_s=0
                )
            )
            await until(lambda: manager.count("WATCHDOG=1") == 1)
            for _ in range(3):
                fill(disk)  # again after the buffer released its reserve: the state file finds no room
                await tick()
            (disk / "filler").unlink()
            await tick()
            stop.set()
            await asyncio.wait_for(agent, 10)
    manager.close()
    state_file = f"{config.gateway.buffer_path}.state.json"
    assert [r.getMessage() for r in caplog.records if "archivo de estado" in r.getMessage()] == [
        f"no se puede escribir el archivo de estado {state_file}: No space left on device; caudal edge status muestra"
        " el último escrito hasta que esto se resuelva",
        f"archivo de estado {state_file} escrito de nuevo",
    ]


def write_on_request(path: str) -> None:
    """The writer: one cycle per number read on stdin, answering ``stored N`` or ``lost N``."""
    logging.disable(logging.CRITICAL)
    buffer = Buffer.open(path)
    print("ready", flush=True)
    for line in sys.stdin:
        number = int(line)
        print(f"{'stored' if buffer.append(cycle(number)) else 'lost'} {number}", flush=True)


if __name__ == "__main__":
    write_on_request(sys.argv[1])
