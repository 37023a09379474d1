"""Device faults as a client sees them: exception codes, silence, NaN; and a busy port."""

from __future__ import annotations

import pytest
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusIOException

from edge.simulator import DeviceConfig, Endpoint, SimConfig, SimServerError, run_simulator
from protocols.clock import ManualClock
from protocols.registers import decode_reading
from protocols.uplink import Quality
from tests.edge.simulator.helpers import read_words, tcp_client

KNOWN = {"flow": 12.5, "totalizer": 4321.0, "level": 31.25}


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ({"fault": "exception"}, 4),
        ({"fault": "exception", "exception_code": 2}, 2),
        ({"fault": "exception", "exception_code": 6}, 6),
    ],
)
async def test_exception_fault_answers_with_its_code(fault: dict, code: int, clock: ManualClock) -> None:
    config = SimConfig(devices=[DeviceConfig(profile="siemens-mag6000", unit_id=1, **fault)], tcp=Endpoint())
    async with run_simulator(config, clock) as sim:
        async with tcp_client(sim.tcp_port) as client:
            reply = await client.read_holding_registers(3002, count=2, device_id=1)
    assert (reply.isError(), reply.exception_code) == (True, code)


async def test_reading_an_unmapped_address_is_an_illegal_address(clock: ManualClock) -> None:
    config = SimConfig(devices=[DeviceConfig(profile="siemens-mag6000", unit_id=1)], tcp=Endpoint())
    async with run_simulator(config, clock) as sim:
        async with tcp_client(sim.tcp_port) as client:
            reply = await client.read_holding_registers(3002, count=16, device_id=1)
    assert (reply.isError(), reply.exception_code) == (True, 2)


@pytest.mark.parametrize(("unit", "why"), [(2, "silent fault"), (9, "no device at that unit id")])
async def test_silent_unit_times_out_while_others_answer(unit: int, why: str, clock: ManualClock) -> None:
    devices = [
        DeviceConfig(profile="siemens-mag6000", unit_id=1, fixed=KNOWN),
        DeviceConfig(profile="keller-series30", unit_id=2, fault="silent"),
    ]
    async with run_simulator(SimConfig(devices=devices, tcp=Endpoint()), clock) as sim:
        async with tcp_client(sim.tcp_port, timeout=0.3) as client:
            with pytest.raises(ModbusIOException):
                await client.read_holding_registers(2, count=2, device_id=unit)
            words = await read_words(client, sim.devices[1].specs[0], 1)
    assert decode_reading(sim.devices[1].specs[0], words) == (pytest.approx(12.5), Quality.GOOD)


async def test_nan_fault_is_a_decode_error_for_floats_only(clock: ManualClock) -> None:
    config = SimConfig(
        devices=[DeviceConfig(profile="abb-aquamaster3", unit_id=4, fault="nan", fixed=KNOWN)], tcp=Endpoint()
    )
    async with run_simulator(config, clock) as sim:
        async with tcp_client(sim.tcp_port) as client:
            flow, totalizer = sim.devices[4].specs
            decoded = [decode_reading(spec, await read_words(client, spec, 4)) for spec in (flow, totalizer)]
    assert decoded == [(None, Quality.DECODE_ERROR), (4321.0, Quality.GOOD)]


async def test_a_busy_port_is_a_clear_error(clock: ManualClock) -> None:
    config = SimConfig(devices=[DeviceConfig(profile="keller-series30", unit_id=1)], tcp=Endpoint())
    async with run_simulator(config, clock) as first:
        busy = SimConfig(devices=config.devices, tcp=Endpoint(port=first.tcp_port))
        with pytest.raises(SimServerError) as raised:
            async with run_simulator(busy, clock):
                pass
    assert (
        str(raised.value)
        == f"no se puede servir Modbus en 127.0.0.1:{first.tcp_port} (en uso, no existe o sin permiso)"
    )


async def test_a_missing_serial_port_is_a_clear_error(clock: ManualClock, tmp_path) -> None:
    missing = str(tmp_path / "ttyUSB9")
    config = SimConfig(devices=[DeviceConfig(profile="keller-series30", unit_id=1)], serial=missing)
    with pytest.raises(SimServerError) as raised:
        async with run_simulator(config, clock):
            pass
    assert str(raised.value) == f"no se puede servir Modbus en {missing} (en uso, no existe o sin permiso)"
