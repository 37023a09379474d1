"""Every profile against a simulated device holding known values, read over real Modbus TCP."""

from __future__ import annotations

import pytest
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.framer import FramerType

from edge.simulator import DeviceConfig, Endpoint, SimConfig, run_simulator
from protocols.clock import ManualClock
from tests.edge.simulator.helpers import read_value, tcp_client

KNOWN = {"flow": 12.5, "totalizer": 123456.0, "level": 31.25}


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        ("siemens-mag6000", {"flow": 12.5, "totalizer": 123456.0}),
        ("abb-aquamaster3", {"flow": 12.5, "totalizer": 123456.0}),
        ("krohne-ifc300", {"flow": 12.5, "totalizer": 123456.0}),
        ("keller-series30", {"level": 31.25}),
        ("xylem-magflux", {"flow": 12.5, "totalizer": 123456.0}),
        ("generic-4-20ma", {"level": 31.25}),
    ],
)
async def test_profile_decodes_known_values(profile: str, expected: dict[str, float], clock: ManualClock) -> None:
    config = SimConfig(devices=[DeviceConfig(profile=profile, unit_id=7, fixed=KNOWN)], tcp=Endpoint())
    async with run_simulator(config, clock) as sim:
        async with tcp_client(sim.tcp_port) as client:
            specs = sim.devices[7].specs
            decoded = {spec.variable: await read_value(client, spec, 7) for spec in specs}
    assert decoded == {variable: (pytest.approx(value, rel=1e-6), "good") for variable, value in expected.items()}


async def test_site_override_changes_what_the_device_holds(clock: ManualClock) -> None:
    device = DeviceConfig(profile="siemens-mag6000", unit_id=1, fixed=KNOWN, overrides={"flow": {"unit": "L/min"}})
    async with run_simulator(SimConfig(devices=[device], tcp=Endpoint()), clock) as sim:
        async with tcp_client(sim.tcp_port) as client:
            reply = await client.read_holding_registers(3002, count=2, device_id=1)
    assert reply.registers == [0x443B, 0x8000]  # 750.0 L/min as float32


async def test_registers_follow_the_well_as_the_clock_advances(clock: ManualClock) -> None:
    config = SimConfig(devices=[DeviceConfig(profile="krohne-ifc300", unit_id=1)], tcp=Endpoint(), seed=5)
    async with run_simulator(config, clock) as sim:
        async with tcp_client(sim.tcp_port) as client:
            totalizer = sim.devices[1].specs[1]
            before, _ = await read_value(client, totalizer, 1)
            await clock.run_for(600, step=1)
            after, _ = await read_value(client, totalizer, 1)
    expected = sum(sim.well.flow_in(second) for second in range(600)) / 1000.0
    assert after - before == pytest.approx(expected, rel=1e-9)


async def test_rtu_over_tcp_serves_rtu_frames(clock: ManualClock) -> None:
    config = SimConfig(
        devices=[DeviceConfig(profile="keller-series30", unit_id=3, fixed=KNOWN)], rtu_over_tcp=Endpoint()
    )
    async with run_simulator(config, clock) as sim:
        client = AsyncModbusTcpClient(
            "127.0.0.1", port=sim.rtu_over_tcp_port, framer=FramerType.RTU, timeout=2, retries=0
        )
        await client.connect()
        try:
            value = await read_value(client, sim.devices[3].specs[0], 3)
        finally:
            client.close()
    assert value == (pytest.approx(31.25, rel=1e-6), "good")
