"""The whole agent: simulator -> bus actors -> poller -> buffer -> uploader -> ingest stand-in."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.agent import AgentError, run_agent
from edge.buffer import Buffer
from edge.simulator.runner import run_simulator
from edge.state import read_state, state_path
from edge.systemd import Notifier
from protocols.clock import ManualClock
from protocols.uplink import Quality
from tests.edge.sites import SystemdManager, device, meter, rtu_bus, simulated, site, tcp_bus
from tests.edge.uplink_server import Fault, UplinkServer, until
from tests.ports import free_port

TOKEN = "gw-test-01-token"
TICKS = 5


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[SystemdManager]:
    manager = SystemdManager(tmp_path / "notify.sock")
    yield manager
    manager.close()


async def test_every_reading_arrives_once_and_systemd_hears_ready_watchdog_stopping(
    tmp_path: Path, clock: ManualClock, manager: SystemdManager
) -> None:
    (tmp_path / "token").write_text(TOKEN + "\n")
    tcp_sim = simulated(meter(1))
    rtu_sim = simulated(meter(2), meter(3, fault="silent"), pty=True)
    async with (
        run_simulator(tcp_sim, clock) as tcp,
        run_simulator(rtu_sim, clock) as rtu,
        UplinkServer(token=TOKEN, clock=clock) as server,
    ):
        config = site(
            tmp_path,
            [tcp_bus(tcp.tcp_port), rtu_bus(rtu.client_port)],
            [device("pozo-1", 1), device("pozo-2", 2, bus="rs485-1"), device("pozo-3", 3, bus="rs485-1")],
            central_url=server.url,
        )
        stop = asyncio.Event()
        agent = asyncio.create_task(
            run_agent(config, clock, stop, notifier=Notifier(str(manager.path)), clock_synced=lambda: True)
        )
        for tick in range(1, TICKS + 1):
            await until(lambda tick=tick: len(server.stored) == 6 * tick)
            if tick < TICKS:
                clock.advance(1)
        stop.set()
        await asyncio.wait_for(agent, 10)
    stamps = [f"2026-11-28T13:00:0{second}+00:00" for second in range(TICKS)]
    assert sorted((r.device, r.variable, r.ts.isoformat(), r.quality) for r in server.stored.values()) == sorted(
        (name, variable, ts, Quality.TIMEOUT if name == "pozo-3" else Quality.GOOD)
        for name in ("pozo-1", "pozo-2", "pozo-3")
        for variable in ("flow", "totalizer")
        for ts in stamps
    )
    assert server.duplicates == 0
    with Buffer.open(config.gateway.buffer_path) as buffer:
        assert buffer.stats().depth == 0
    messages = manager.heard()
    assert messages[0] == "READY=1" and messages[-1] == "STOPPING=1"
    assert messages[1:-1] == ["WATCHDOG=1"] * TICKS


async def test_a_stop_during_a_cycle_finishes_it_and_records_it(
    tmp_path: Path, clock: ManualClock, manager: SystemdManager
) -> None:
    """The stop arrives while the silent device's read waits for its timeout: the tick still lands."""
    (tmp_path / "token").write_text(TOKEN)
    async with run_simulator(simulated(meter(1), meter(3, fault="silent")), clock) as running:
        config = site(
            tmp_path,
            [tcp_bus(running.tcp_port, timeout_s=0.3)],
            [device("pozo-1", 1), device("pozo-3", 3)],
            central_url=f"http://127.0.0.1:{free_port()}",  # nobody listens: everything stays buffered
        )
        stop = asyncio.Event()
        notifier = Notifier(str(manager.path))
        agent = asyncio.create_task(run_agent(config, clock, stop, notifier=notifier, clock_synced=lambda: True))
        await until(lambda: manager.heard() == ["READY=1"])
        await asyncio.sleep(0.05)  # a few loop turns: the first tick starts (its reads need 0.3 s to time out)
        stop.set()
        await asyncio.wait_for(agent, 10)
    with Buffer.open(config.gateway.buffer_path) as buffer:
        pending = buffer.pending()
    assert [(r.device, r.variable, r.value, r.quality) for r in pending] == [
        ("pozo-1", "flow", 12.5, Quality.GOOD),
        ("pozo-1", "totalizer", 1000.0, Quality.GOOD),
        ("pozo-3", "flow", None, Quality.TIMEOUT),
        ("pozo-3", "totalizer", None, Quality.TIMEOUT),
    ]
    state = read_state(state_path(config.gateway.buffer_path))
    assert state is not None
    assert (state.cycles, [(d.name, d.ok, d.timeouts) for d in state.devices]) == (
        1,
        [("pozo-1", 1, 0), ("pozo-3", 0, 1)],
    )
    assert state.uploader_error is not None and state.last_upload is None


async def test_an_unreadable_token_stops_the_agent_before_it_opens_anything(tmp_path: Path, clock: ManualClock) -> None:
    config = site(tmp_path, [tcp_bus(free_port())], [device("pozo-1", 1)])
    with pytest.raises(AgentError) as caught:
        await run_agent(config, clock, asyncio.Event(), notifier=Notifier(""))
    assert str(caught.value) == f"no se puede leer gateway.token_file {tmp_path / 'token'}: No such file or directory"
    assert not config.gateway.buffer_path.exists()


async def test_a_stop_right_after_a_cycle_delivers_its_readings_before_exiting(
    tmp_path: Path, clock: ManualClock, manager: SystemdManager
) -> None:
    """The uploader's own loop is told to wait an hour (503): only the final flush can deliver the cycle."""
    (tmp_path / "token").write_text(TOKEN)
    async with run_simulator(simulated(meter(1)), clock) as running, UplinkServer(token=TOKEN, clock=clock) as server:
        server.faults.append(Fault(status=503, retry_after="3600"))
        config = site(tmp_path, [tcp_bus(running.tcp_port)], [device("pozo-1", 1)], central_url=server.url)
        stop = asyncio.Event()
        agent = asyncio.create_task(
            run_agent(config, clock, stop, notifier=Notifier(str(manager.path)), clock_synced=lambda: True)
        )
        await until(lambda: "WATCHDOG=1" in manager.heard() and len(server.received) == 1)
        stored_before = len(server.stored)
        stop.set()
        await asyncio.wait_for(agent, 10)
    with Buffer.open(config.gateway.buffer_path) as buffer:
        depth = buffer.stats().depth
    assert (stored_before, depth, server.duplicates) == (0, 0, 0)
    assert sorted((r.variable, r.value, r.ts.isoformat()) for r in server.stored.values()) == [
        ("flow", 12.5, "2026-11-28T13:00:00+00:00"),
        ("totalizer", 1000.0, "2026-11-28T13:00:00+00:00"),
    ]


@pytest.mark.parametrize("server_state", ["refusing connections", "hanging"])
async def test_with_the_server_unavailable_the_stop_is_bounded_and_the_readings_stay_buffered(
    tmp_path: Path, clock: ManualClock, manager: SystemdManager, server_state: str
) -> None:
    """A hanging server would hold a request 30 s (the HTTP timeout), or forever: the flush bound ends it."""
    (tmp_path / "token").write_text(TOKEN)
    async with run_simulator(simulated(meter(1)), clock) as running, UplinkServer(token=TOKEN, clock=clock) as server:
        server.faults.extend([Fault(hang_s=120)] * 5)
        url = server.url if server_state == "hanging" else f"http://127.0.0.1:{free_port()}"
        config = site(tmp_path, [tcp_bus(running.tcp_port)], [device("pozo-1", 1)], central_url=url)
        stop = asyncio.Event()
        agent = asyncio.create_task(
            run_agent(config, clock, stop, notifier=Notifier(str(manager.path)), clock_synced=lambda: True, flush_s=0.5)
        )
        await until(lambda: "WATCHDOG=1" in manager.heard())
        stop.set()
        await asyncio.wait_for(agent, 5)
    with Buffer.open(config.gateway.buffer_path) as buffer:
        pending = buffer.pending()
    assert [(r.variable, r.value, r.ts.isoformat()) for r in pending] == [
        ("flow", 12.5, "2026-11-28T13:00:00+00:00"),
        ("totalizer", 1000.0, "2026-11-28T13:00:00+00:00"),
    ]


async def test_an_unplugged_serial_adapter_is_a_warning_and_the_other_buses_are_polled(
    tmp_path: Path, clock: ManualClock, manager: SystemdManager, caplog: pytest.LogCaptureFixture
) -> None:
    """The bus actor reopens a re-plugged adapter by itself, so a missing port must not stop the agent."""
    (tmp_path / "token").write_text(TOKEN)
    gone = str(tmp_path / "ttyUSB-unplugged")
    async with run_simulator(simulated(meter(1)), clock) as running, UplinkServer(token=TOKEN, clock=clock) as server:
        config = site(
            tmp_path,
            [tcp_bus(running.tcp_port), rtu_bus(gone)],
            [device("pozo-1", 1), device("pozo-2", 2, bus="rs485-1")],
            central_url=server.url,
        )
        stop = asyncio.Event()
        with caplog.at_level(logging.WARNING, logger="edge.reload"):
            agent = asyncio.create_task(
                run_agent(config, clock, stop, notifier=Notifier(str(manager.path)), clock_synced=lambda: True)
            )
            await until(lambda: any(r.device == "pozo-1" for r in server.stored.values()))
            stop.set()
            await asyncio.wait_for(agent, 10)
    assert [r.getMessage() for r in caplog.records if r.name == "edge.reload"] == [
        f"configuración: buses[1].port: el puerto serie {gone} no existe (¿está conectado el adaptador?)"
    ]
    assert sorted((r.variable, r.value, r.quality) for r in server.stored.values() if r.device == "pozo-1") == [
        ("flow", 12.5, Quality.GOOD),
        ("totalizer", 1000.0, Quality.GOOD),
    ]
