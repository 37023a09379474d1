"""Modbus RTU over a pseudo-terminal pair: several slaves on one bus, one of them dead."""

from __future__ import annotations

import asyncio
import os

import pytest
from pymodbus.client import AsyncModbusSerialClient
from pymodbus.exceptions import ModbusIOException

from edge.simulator import DeviceConfig, SimConfig, open_pty_pair, run_simulator
from protocols.clock import ManualClock
from tests.edge.simulator.helpers import read_value

KNOWN = {"flow": 12.5, "totalizer": 4321.0, "level": 31.25}

BUS = [
    DeviceConfig(profile="siemens-mag6000", unit_id=1, fixed=KNOWN),
    DeviceConfig(profile="keller-series30", unit_id=2, fixed=KNOWN),
    DeviceConfig(profile="abb-aquamaster3", unit_id=3, fault="silent"),
]


async def test_rtu_slaves_answer_over_the_pty_pair(clock: ManualClock) -> None:
    async with run_simulator(SimConfig(devices=BUS, pty=True), clock) as sim:
        client = AsyncModbusSerialClient(sim.client_port, baudrate=19200, timeout=1, retries=0)
        assert await client.connect()
        try:
            flow, totalizer = sim.devices[1].specs
            readings = [
                await read_value(client, flow, 1),
                await read_value(client, totalizer, 1),
                await read_value(client, sim.devices[2].specs[0], 2),
            ]
        finally:
            client.close()
    assert readings == [(12.5, "good"), (4321.0, "good"), (pytest.approx(31.25, rel=1e-6), "good")]


async def test_a_silent_slave_times_out_and_the_bus_keeps_working(clock: ManualClock) -> None:
    async with run_simulator(SimConfig(devices=BUS, pty=True), clock) as sim:
        client = AsyncModbusSerialClient(sim.client_port, timeout=0.3, retries=0)
        assert await client.connect()
        try:
            with pytest.raises(ModbusIOException):
                await client.read_input_registers(5016, count=2, device_id=3)
            after = await read_value(client, sim.devices[1].specs[0], 1)
        finally:
            client.close()
    assert after == (12.5, "good")


async def test_pty_pair_carries_bytes_both_ways() -> None:
    async with open_pty_pair() as (server_path, client_path):
        server, client = os.open(server_path, os.O_RDWR | os.O_NOCTTY), os.open(client_path, os.O_RDWR | os.O_NOCTTY)
        try:
            os.write(client, b"\x01\x03\x0b\xba")
            request = await _read(server, 4)
            os.write(server, b"\x01\x03\x04")
            reply = await _read(client, 3)
        finally:
            os.close(server)
            os.close(client)
    assert (request, reply) == (b"\x01\x03\x0b\xba", b"\x01\x03\x04")


async def test_pty_pair_is_gone_after_the_block() -> None:
    async with open_pty_pair() as paths:
        pass
    assert [os.path.exists(path) for path in paths] == [False, False]


async def _read(fd: int, size: int) -> bytes:
    loop = asyncio.get_running_loop()
    data = b""
    while len(data) < size:
        ready = asyncio.Event()
        loop.add_reader(fd, ready.set)
        try:
            await asyncio.wait_for(ready.wait(), timeout=2)
        finally:
            loop.remove_reader(fd)
        data += os.read(fd, size - len(data))
    return data
