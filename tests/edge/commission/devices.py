"""Simulated devices for the commissioning commands: real pymodbus servers over TCP and a serial line."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from edge.simulator.device import DeviceConfig, SimulatedDevice
from edge.simulator.server import serve_serial, serve_tcp
from protocols.clock import ManualClock
from tests.edge.commission.serial_line import rs485_line

DEVICE_BAUDRATE = 19200
FLOW_12_5 = {
    "profile": "siemens-mag6000",
    "overrides": {"flow": {"unit": "L/s"}},
    "fixed": {"flow": 12.5, "totalizer": 2.0},
}
LEVEL_PROBE = {"profile": "keller-series30", "fixed": {"level": 10.0}}


def devices(clock: ManualClock) -> list[SimulatedDevice]:
    """A flowmeter at unit 3 holding 12.5 (float32 at holding 3002) and a level probe at unit 7."""
    from edge.simulator.well import PumpedWell, WellParams

    made = [
        SimulatedDevice(DeviceConfig(unit_id=3, **FLOW_12_5)),
        SimulatedDevice(DeviceConfig(unit_id=7, **LEVEL_PROBE)),
    ]
    reading = PumpedWell(WellParams(), clock.now()).advance_to(clock.now())
    for device in made:
        device.refresh(reading)
    return made


@asynccontextmanager
async def tcp_devices(clock: ManualClock) -> AsyncIterator[int]:
    async with serve_tcp(devices(clock), "127.0.0.1", 0) as port:
        yield port


@asynccontextmanager
async def serial_devices(clock: ManualClock) -> AsyncIterator[str]:
    """The devices on a serial line at 19200 8N1; yields the port the technician opens."""
    async with rs485_line() as (device_side, master_side):
        async with serve_serial(devices(clock), device_side, baudrate=DEVICE_BAUDRATE):
            yield master_side
