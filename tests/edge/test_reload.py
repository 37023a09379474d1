"""Configuration reload (SIGHUP / ``systemctl reload``): real simulator, real uplink stand-in, real notify socket."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from edge.agent import run_agent
from edge.buffer import Buffer
from edge.config import BusConfig, GatewayConfig, load_site_config
from edge.links import BusChanges, bus_changes
from edge.poller import slot_after_reload
from edge.reload import live_gateway
from edge.simulator.runner import run_simulator
from edge.systemd import Notifier
from protocols.clock import ManualClock, SystemClock
from tests.edge.sites import GATEWAY, SystemdManager, device, meter, simulated, tcp_bus
from tests.edge.test_cli import start_service
from tests.edge.uplink_server import Fault, UplinkServer, until

TOKEN = "a-token"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def write_site(tmp_path: Path, buses: list[dict], devices: list[dict], **gateway: Any) -> Path:
    """``site.yaml`` in ``tmp_path`` (rewritten in place by each call, as a technician edits it)."""
    (tmp_path / "token").write_text(TOKEN)
    settings = {**GATEWAY, "token_file": str(tmp_path / "token"), "buffer_path": str(tmp_path / "buffer.db"), **gateway}
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump({"gateway": settings, "buses": buses, "devices": devices}, sort_keys=False))
    return path


@dataclass(frozen=True)
class SiteFile:
    """The ``site.yaml`` a technician edits under the running agent: each write names the devices
    (and any gateway field that changes); the buses, and the central URL unless given, stay."""

    folder: Path
    buses: list[dict]
    central_url: str

    def write(self, *devices: dict, central_url: str | None = None, **gateway: Any) -> Path:
        return write_site(
            self.folder, self.buses, list(devices), central_url=central_url or self.central_url, **gateway
        )


class RunningAgent:
    """``run_agent`` in this process, driven like systemd drives it: reload and stop events."""

    def __init__(self, manager: SystemdManager, clock: ManualClock) -> None:
        self.manager, self.clock = manager, clock
        self.stop, self.reload = asyncio.Event(), asyncio.Event()

    async def reloaded(self) -> None:
        """Ask for a reload and wait for systemd's READY=1 that ends it."""
        ready = self.manager.count("READY=1")
        self.reload.set()
        await until(lambda: self.manager.count("READY=1") == ready + 1)

    async def cycle(self, seconds: float = 1) -> None:
        """Move the clock and wait until the poll cycle due then is recorded (fed to the watchdog)."""
        cycles = self.manager.count("WATCHDOG=1")
        self.clock.advance(seconds)
        await until(lambda: self.manager.count("WATCHDOG=1") == cycles + 1)


@asynccontextmanager
async def agent_on(path: Path, clock: ManualClock, tmp_path: Path) -> AsyncIterator[RunningAgent]:
    manager = SystemdManager(tmp_path / "notify.sock")
    agent = RunningAgent(manager, clock)
    task = asyncio.create_task(
        run_agent(
            load_site_config(path),
            clock,
            agent.stop,
            config_path=path,
            reload=agent.reload,
            notifier=Notifier(str(manager.path)),
            clock_synced=lambda: True,
        )
    )
    try:
        await until(lambda: manager.count("WATCHDOG=1") == 1)  # the first cycle, at start (13:00:00)
        yield agent
    finally:
        agent.stop.set()
        await asyncio.wait_for(task, 10)
        manager.close()


def stamps(server: UplinkServer, name: str) -> list[str]:
    """When the server got readings of device ``name`` (time of day, UTC)."""
    return sorted({r.ts.strftime("%H:%M:%S") for r in server.stored.values() if r.device == name})


class CountingProxy:
    """A real TCP forwarder in front of the simulator: counts the connections the agent opens and closes."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.connections = 0
        self.closed = 0
        self._writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> CountingProxy:
        self._server = await asyncio.start_server(self._forward, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._server.close()
        for writer in self._writers:
            writer.close()
        await self._server.wait_closed()

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers += [writer, upstream_writer]
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer), return_exceptions=True)
        self.closed += 1


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(4096):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


@pytest.mark.parametrize(
    "now, interval, last_instant, slot",
    [
        ("13:00:02", 5, "13:00:00", "13:00:05"),  # shorter interval: its next multiple
        ("13:00:02", 60, "13:00:00", "13:01:00"),  # longer interval: its next multiple
        ("13:00:05", 5, "13:00:04", "13:00:05"),  # reloaded on an instant not yet served: polled now
        ("13:00:05", 5, "13:00:05", "13:00:10"),  # reloaded on an instant already served: never twice
        ("13:00:05", 1, "13:00:05", "13:00:06"),
        ("13:00:05", 1, None, "13:00:05"),  # nothing polled yet: the first slot from now
    ],
)
def test_a_reloaded_schedule_starts_at_the_next_aligned_slot_not_yet_served(
    now: str, interval: float, last_instant: str | None, slot: str
) -> None:
    day = "2026-11-28T"
    last = utc(day + last_instant) if last_instant else None
    assert slot_after_reload(utc(day + now), interval, last) == utc(day + slot)


@pytest.mark.parametrize(
    "running, wanted, changes",
    [
        ([tcp_bus(1502)], [tcp_bus(1502)], BusChanges(kept=["plc"], reopened=[], closed=[], opened=[])),
        ([tcp_bus(1502)], [tcp_bus(1503)], BusChanges(kept=[], reopened=["plc"], closed=[], opened=[])),
        ([tcp_bus(1502)], [tcp_bus(1502, timeout_s=0.5)], BusChanges(kept=[], reopened=["plc"], closed=[], opened=[])),
        (
            [tcp_bus(1502), tcp_bus(1503, "b")],
            [tcp_bus(1502), tcp_bus(1504, "c")],
            BusChanges(kept=["plc"], reopened=[], closed=["b"], opened=["c"]),
        ),
    ],
)
def test_only_buses_whose_definition_changed_are_reopened(running: list, wanted: list, changes: BusChanges) -> None:
    assert bus_changes(bus_configs(running), bus_configs(wanted)) == changes


def bus_configs(buses: list[dict]) -> list[BusConfig]:
    return [BusConfig.model_validate(bus) for bus in buses]


@pytest.mark.parametrize(
    "change, refused, applied",
    [
        ({"heartbeat_s": 30, "central_url": "http://127.0.0.1:8001"}, [], {"heartbeat_s": 30.0}),
        ({"id": "gw-otro"}, ["id"], {"id": "gw-test-01"}),
        (
            {"buffer_path": "/var/lib/caudal/otro.db", "heartbeat_s": 30},
            ["buffer_path"],
            {"buffer_path": Path("/var/lib/caudal/buffer.db"), "heartbeat_s": 30.0},
        ),
        (
            {"buffer_max_mb": 64, "token_file": "/etc/caudal/otro", "ca_bundle": "/etc/caudal/ca.pem"},
            ["buffer_max_mb", "token_file", "ca_bundle"],
            {"buffer_max_mb": 512, "token_file": Path("/etc/caudal/token")},
        ),
    ],
)
def test_gateway_changes_that_need_a_restart_keep_their_running_value(
    change: dict, refused: list[str], applied: dict
) -> None:
    base = {**GATEWAY, "token_file": "/etc/caudal/token", "buffer_path": "/var/lib/caudal/buffer.db"}
    running = GatewayConfig.model_validate(base)
    gateway, names = live_gateway(running, GatewayConfig.model_validate({**base, **change}))
    assert names == refused
    assert {name: getattr(gateway, name) for name in applied} == applied


async def test_an_interval_change_takes_effect_at_the_next_aligned_slot(tmp_path: Path, clock: ManualClock) -> None:
    async with run_simulator(simulated(meter(1)), clock) as sim, UplinkServer(token=TOKEN, clock=clock) as server:
        site = SiteFile(tmp_path, [tcp_bus(sim.tcp_port)], server.url)
        path = site.write(device("pozo-1", 1, interval_s=10))
        async with agent_on(path, clock, tmp_path) as agent:
            clock.advance(2)
            site.write(device("pozo-1", 1, interval_s=5))
            await agent.reloaded()
            await agent.cycle(3)
            await agent.cycle(5)
            await until(lambda: len(server.stored) == 6)
    assert stamps(server, "pozo-1") == ["13:00:00", "13:00:05", "13:00:10"]


async def test_a_new_device_on_an_existing_bus_is_polled_without_reopening_the_bus(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with (
        run_simulator(simulated(meter(1), meter(2)), clock) as sim,
        CountingProxy(sim.tcp_port) as proxy,
        UplinkServer(token=TOKEN, clock=clock) as server,
    ):
        site = SiteFile(tmp_path, [tcp_bus(proxy.port)], server.url)
        path = site.write(device("pozo-1", 1))
        async with agent_on(path, clock, tmp_path) as agent:
            site.write(device("pozo-1", 1), device("pozo-2", 2))
            await agent.reloaded()
            await agent.cycle()
            await until(lambda: len(server.stored) == 6)
        connections = proxy.connections
    assert (stamps(server, "pozo-1"), stamps(server, "pozo-2"), connections) == (
        ["13:00:00", "13:00:01"],
        ["13:00:01"],
        1,
    )


@pytest.mark.parametrize("new_bus_name", ["plc", "plc-2"], ids=["bus changed", "bus replaced"])
async def test_a_changed_or_replaced_bus_is_closed_and_its_devices_read_through_the_new_one(
    tmp_path: Path, clock: ManualClock, new_bus_name: str
) -> None:
    async with (
        run_simulator(simulated(meter(1, flow=12.5)), clock) as old,
        run_simulator(simulated(meter(1, flow=20.0)), clock) as new,
        CountingProxy(old.tcp_port) as proxy,
        UplinkServer(token=TOKEN, clock=clock) as server,
    ):
        path = write_site(tmp_path, [tcp_bus(proxy.port)], [device("pozo-1", 1)], central_url=server.url)
        async with agent_on(path, clock, tmp_path) as agent:
            write_site(
                tmp_path,
                [tcp_bus(new.tcp_port, new_bus_name)],
                [device("pozo-1", 1, bus=new_bus_name)],
                central_url=server.url,
            )
            await agent.reloaded()
            await until(lambda: (proxy.connections, proxy.closed) == (1, 1))  # the old link was closed
            await agent.cycle()
            await until(lambda: len(server.stored) == 4)
    flows = sorted((r.ts.strftime("%H:%M:%S"), r.value) for r in server.stored.values() if r.variable == "flow")
    assert flows == [("13:00:00", 12.5), ("13:00:01", 20.0)]


async def test_an_invalid_file_on_reload_is_logged_and_the_old_schedule_keeps_running(
    tmp_path: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="edge.reload")
    async with run_simulator(simulated(meter(1)), clock) as sim, UplinkServer(token=TOKEN, clock=clock) as server:
        site = SiteFile(tmp_path, [tcp_bus(sim.tcp_port)], server.url)
        path = site.write(device("pozo-1", 1))
        async with agent_on(path, clock, tmp_path) as agent:
            site.write(device("pozo-1", 1, interval_s=5), device("pozo-2", 300, interval_s=7))
            await agent.reloaded()
            await agent.cycle()
            await agent.cycle()
            await until(lambda: len(server.stored) == 6)
    assert stamps(server, "pozo-1") == ["13:00:00", "13:00:01", "13:00:02"]
    assert [r.getMessage() for r in caplog.records if r.name == "edge.reload"] == [
        f"recarga rechazada: {path}:22: devices[1].unit_id: debe ser menor o igual que 247",
        f"recarga rechazada: {path}:25: devices[1].interval_s: el intervalo de 7 s no divide a 60 ni es múltiplo de 60;"
        " las lecturas se alinean a múltiplos del intervalo en el reloj (use 1, 2, 5, 10, 15, 20, 30, 60, 120, 300...)",
        f"recarga rechazada: 2 problemas en {path}; sigue corriendo la configuración anterior",
    ]


async def test_unsent_readings_survive_a_reload_and_reach_the_server_exactly_once(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with (
        run_simulator(simulated(meter(1), meter(2)), clock) as sim,
        UplinkServer(token=TOKEN, clock=clock) as server,
    ):
        server.faults.append(Fault(status=503, retry_after="5"))  # the uplink is back at 13:00:05
        site = SiteFile(tmp_path, [tcp_bus(sim.tcp_port)], server.url)
        path = site.write(device("pozo-1", 1))
        async with agent_on(path, clock, tmp_path) as agent:
            await agent.cycle()
            site.write(device("pozo-1", 1), device("pozo-2", 2))
            await agent.reloaded()
            stored_before = len(server.stored)
            for _ in range(4):
                await agent.cycle()
            await until(lambda: len(server.stored) == 20)
        duplicates = server.duplicates
    with Buffer.open(tmp_path / "buffer.db") as buffer:
        depth = buffer.stats().depth
    assert (stored_before, duplicates, depth) == (0, 0, 0)
    assert stamps(server, "pozo-1") == ["13:00:00", "13:00:01", "13:00:02", "13:00:03", "13:00:04", "13:00:05"]
    assert stamps(server, "pozo-2") == ["13:00:02", "13:00:03", "13:00:04", "13:00:05"]


async def test_a_gateway_change_that_needs_a_restart_is_refused_and_the_rest_applies(
    tmp_path: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="edge.reload")
    async with (
        run_simulator(simulated(meter(1), meter(2)), clock) as sim,
        UplinkServer(token=TOKEN, clock=clock) as server,
    ):
        site = SiteFile(tmp_path, [tcp_bus(sim.tcp_port)], server.url)
        path = site.write(device("pozo-1", 1))
        async with agent_on(path, clock, tmp_path) as agent:
            site.write(device("pozo-1", 1), device("pozo-2", 2), buffer_path=str(tmp_path / "other.db"))
            await agent.reloaded()
            await agent.cycle()
            await until(lambda: len(server.stored) == 6)
    assert stamps(server, "pozo-2") == ["13:00:01"]
    assert not (tmp_path / "other.db").exists()
    assert [r.getMessage() for r in caplog.records if r.name == "edge.reload"] == [
        f"recargando la configuración desde {path}",
        f"recarga: gateway.buffer_path cambió ({tmp_path / 'buffer.db'} -> {tmp_path / 'other.db'}), pero el agente en "
        "marcha no puede aplicarlo; reinicie el servicio para usarlo (systemctl restart caudal-edge); "
        f"sigue usando {tmp_path / 'buffer.db'}",
        f"configuración recargada desde {path}: buses sin cambios plc; equipos agregados pozo-2",
    ]


async def test_sighup_reloads_the_running_service_between_reloading_and_ready(tmp_path: Path) -> None:
    """``systemctl reload`` as systemd does it: SIGHUP to the real process, RELOADING=1 ... READY=1."""
    manager = SystemdManager(tmp_path / "notify.sock")
    async with run_simulator(simulated(meter(1), meter(2)), SystemClock()) as sim, UplinkServer(token=TOKEN) as server:
        site = SiteFile(tmp_path, [tcp_bus(sim.tcp_port)], server.url)
        path = site.write(device("pozo-1", 1))
        process = await start_service(path, manager)
        await until(lambda: manager.count("WATCHDOG=1") >= 1, timeout_s=20)
        site.write(device("pozo-1", 1), device("pozo-2", 2))
        before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        process.send_signal(signal.SIGHUP)
        await until(lambda: "pozo-2" in {r.device for r in server.stored.values()}, timeout_s=20)
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), 20)
    messages = manager.heard()
    manager.close()
    assert process.returncode == 0, err.decode()
    reload_lines = [m for m in messages if m != "WATCHDOG=1"]
    assert reload_lines[0] == "READY=1" and reload_lines[2:] == ["READY=1", "STOPPING=1"]
    match = re.fullmatch(r"RELOADING=1\nMONOTONIC_USEC=(\d+)", reload_lines[1])
    assert match is not None and before <= int(match[1]) <= time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert (
        f"INFO edge.reload: configuración recargada desde {path}: buses sin cambios plc; equipos agregados pozo-2"
        in err.decode()
    )


async def test_a_new_central_url_takes_over_the_uploads_after_a_reload(tmp_path: Path, clock: ManualClock) -> None:
    async with (
        run_simulator(simulated(meter(1)), clock) as sim,
        UplinkServer(token=TOKEN, clock=clock) as first,
        UplinkServer(token=TOKEN, clock=clock) as second,
    ):
        site = SiteFile(tmp_path, [tcp_bus(sim.tcp_port)], first.url)
        path = site.write(device("pozo-1", 1))
        async with agent_on(path, clock, tmp_path) as agent:
            await until(lambda: len(first.stored) == 2)
            site.write(device("pozo-1", 1), central_url=second.url)
            await agent.reloaded()
            await agent.cycle()
            await until(lambda: len(second.stored) == 2)
    assert (stamps(first, "pozo-1"), stamps(second, "pozo-1")) == (["13:00:00"], ["13:00:01"])
