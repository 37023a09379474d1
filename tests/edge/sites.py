"""Site configurations, simulators (real pymodbus servers) and a systemd notify socket for the edge agent's tests."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge.bus import BusActor
from edge.config import SiteConfig
from edge.modbus import ModbusLink
from edge.simulator.device import DeviceConfig as SimDevice
from edge.simulator.runner import Endpoint, SimConfig

GATEWAY = {"id": "gw-test-01", "central_url": "http://127.0.0.1:9", "token_file": "token", "buffer_path": "buffer.db"}


def site(tmp_path: Path, buses: list[dict[str, Any]], devices: list[dict[str, Any]], **gateway: Any) -> SiteConfig:
    """A validated site whose files live in ``tmp_path``."""
    settings = {**GATEWAY, **gateway}
    for key in ("token_file", "buffer_path"):
        settings[key] = str(tmp_path / settings[key])
    return SiteConfig.model_validate({"gateway": settings, "buses": buses, "devices": devices})


def tcp_bus(port: int, name: str = "plc", **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": "tcp", "host": "127.0.0.1", "port": port, "pause_ms": 0, "timeout_s": 0.2, **extra}


def rtu_bus(path: str, name: str = "rs485-1", **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": "rtu", "port": path, "baud": 19200, "pause_ms": 0, "timeout_s": 0.1, **extra}


def device(name: str, unit_id: int, bus: str = "plc", profile: str = "siemens-mag6000", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "bus": bus,
        "unit_id": unit_id,
        "point": f"OB-{unit_id:04d}",
        "profile": profile,
        "interval_s": 1,
        **extra,
    }


def simulated(
    *devices: SimDevice, tcp_port: int | None = None, pty: bool = False, rtu_over_tcp: bool = False
) -> SimConfig:
    return SimConfig(
        devices=list(devices),
        tcp=Endpoint(port=tcp_port or 0) if tcp_port is not None or not (pty or rtu_over_tcp) else None,
        rtu_over_tcp=Endpoint() if rtu_over_tcp else None,
        pty=pty,
    )


def meter(unit_id: int, fault: str = "none", flow: float = 12.5, totalizer: float = 1000.0) -> SimDevice:
    """A MAG 6000 holding fixed canonical values (flow in L/s, which travels as m3/h on the wire)."""
    return SimDevice(
        profile="siemens-mag6000", unit_id=unit_id, fault=fault, fixed={"flow": flow, "totalizer": totalizer}
    )


class RunningBuses:
    """Bus actors serving until the ``async with`` block ends (what the agent does, minus the rest)."""

    def __init__(self, config: SiteConfig, clock, link_factory: Callable[[Any], Any] = ModbusLink) -> None:
        self.actors = {bus.name: BusActor(bus, clock, link_factory) for bus in config.buses}
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task] = []

    async def __aenter__(self) -> dict[str, BusActor]:
        self._tasks = [asyncio.create_task(actor.run(self._stop)) for actor in self.actors.values()]
        return self.actors

    async def __aexit__(self, *exc_info: object) -> None:
        self._stop.set()
        await asyncio.wait_for(asyncio.gather(*self._tasks), 5)


def collector() -> tuple[list[list], Callable[[list], None]]:
    """A sink that keeps each tick's readings as one list (one Buffer.append each)."""
    ticks: list[list] = []
    return ticks, ticks.append


class SystemdManager:
    """A real datagram socket standing in for systemd's notify socket; remembers every line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.setblocking(False)
        self.messages: list[str] = []

    def heard(self) -> list[str]:
        while True:
            try:
                self.messages.append(self.sock.recv(256).decode())
            except BlockingIOError:
                return self.messages

    def count(self, message: str) -> int:
        return self.heard().count(message)

    def close(self) -> None:
        self.sock.close()
