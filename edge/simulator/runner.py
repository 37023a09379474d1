"""Run a simulator: devices on one or more transports, refreshed from the well every second.

``run_simulator`` is what tests, the demo and ``caudal sim modbus`` use. It owns everything
it opens (pty pair, servers, the update task) and closes it in reverse order.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field, model_validator

from edge.simulator.device import DeviceConfig, SimulatedDevice
from edge.simulator.pty import open_pty_pair
from edge.simulator.server import serve_serial, serve_tcp
from edge.simulator.well import PumpedWell, WellParams
from protocols.clock import Clock


class Endpoint(BaseModel):
    """A TCP listening address; port 0 picks a free port."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)

    @classmethod
    def parse(cls, text: str) -> Endpoint:
        """``HOST:PORT`` (or ``:PORT``) -> Endpoint."""
        host, separator, port = text.rpartition(":")
        if not separator or not port.isdigit():
            raise ValueError(f"se espera HOST:PUERTO, no {text!r}")
        return cls(host=host or "127.0.0.1", port=int(port))


class SimConfig(BaseModel):
    """What to simulate and where to serve it."""

    model_config = ConfigDict(extra="forbid")

    devices: list[DeviceConfig] = Field(min_length=1)
    well: WellParams = Field(default_factory=WellParams)
    seed: int = 0
    tcp: Endpoint | None = None
    rtu_over_tcp: Endpoint | None = None
    serial: str | None = None
    pty: bool = False
    baudrate: int = 19200
    update_s: float = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _check(self) -> SimConfig:
        units = [device.unit_id for device in self.devices]
        duplicates = sorted({unit for unit in units if units.count(unit) > 1})
        if duplicates:
            raise ValueError(f"el unit id {', '.join(map(str, duplicates))} lo usa más de un equipo")
        if self.serial and self.pty:
            raise ValueError("indique serial o pty, no ambos")
        if not (self.tcp or self.rtu_over_tcp or self.serial or self.pty):
            raise ValueError("no hay dónde servir: indique tcp, rtu_over_tcp, serial o pty")
        return self


@dataclass
class RunningSimulator:
    """Where a running simulator listens, and its parts (for tests to inspect)."""

    clock: Clock = field(repr=False)
    well: PumpedWell
    devices: dict[int, SimulatedDevice]
    tcp_port: int | None = None
    rtu_over_tcp_port: int | None = None
    serial_port: str | None = None  # the port the simulator itself opened
    client_port: str | None = None  # with pty: the port the agent opens

    def refresh(self) -> None:
        """Bring every device's registers to the well's state at the clock's now."""
        reading = self.well.advance_to(self.clock.now())
        for device in self.devices.values():
            device.refresh(reading)


async def _keep_refreshing(sim: RunningSimulator, clock: Clock, every_s: float) -> None:
    while True:
        await clock.sleep(every_s)
        sim.refresh()


@asynccontextmanager
async def run_simulator(config: SimConfig, clock: Clock) -> AsyncIterator[RunningSimulator]:
    """Serve the configured devices until the block exits."""
    devices = {device.unit_id: SimulatedDevice(device) for device in config.devices}
    sim = RunningSimulator(clock, PumpedWell(config.well, clock.now(), config.seed), devices)
    sim.refresh()
    listed = list(devices.values())
    async with AsyncExitStack() as stack:
        if config.tcp:
            sim.tcp_port = await stack.enter_async_context(serve_tcp(listed, config.tcp.host, config.tcp.port))
        if config.rtu_over_tcp:
            endpoint = config.rtu_over_tcp
            sim.rtu_over_tcp_port = await stack.enter_async_context(
                serve_tcp(listed, endpoint.host, endpoint.port, rtu_framing=True)
            )
        if config.pty:
            sim.serial_port, sim.client_port = await stack.enter_async_context(open_pty_pair())
        else:
            sim.serial_port = config.serial
        if sim.serial_port:
            await stack.enter_async_context(serve_serial(listed, sim.serial_port, config.baudrate))
        task = asyncio.create_task(_keep_refreshing(sim, clock, config.update_s), name="sim-refresh")
        stack.push_async_callback(_cancel, task)
        yield sim


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task
