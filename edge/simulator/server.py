"""The only module of the simulator that talks to pymodbus's server side.

Simulated devices are exposed as pymodbus ``SimDevice`` entries (one per unit id, several on one
server = several slaves on one bus). pymodbus keeps its own register memory; an access hook
copies our device's current image into it on every read, answers with the device's exception
code when it has the ``exception`` fault, and a packet hook drops every reply from a unit id
that must stay silent (a dead slave, or no slave at that address), as on a real RS-485 line.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

from pymodbus.constants import ExcCodes
from pymodbus.framer import FramerType
from pymodbus.server import ModbusBaseServer, ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from edge.simulator.device import SimulatedDevice
from protocols.registers import Table

_TABLE_OF_FUNCTION = {3: Table.HOLDING, 4: Table.INPUT}
_UNIT_BYTE = {FramerType.SOCKET: 6, FramerType.RTU: 0}  # where a reply frame names its unit id
_CATCH_ALL_UNIT = 0  # pymodbus routes unknown unit ids to device 0; it never answers


class SimServerError(RuntimeError):
    """A simulator server could not start (address in use, serial port missing)."""


def _merged_ranges(layout: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for address, count in sorted(layout):
        if merged and address <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], address + count)
        else:
            merged.append([address, address + count])
    return [(start, end - start) for start, end in merged]


def _registers(layout: Sequence[tuple[int, int]]) -> list[SimData]:
    blocks = [
        SimData(address, count=count, datatype=DataType.REGISTERS, readonly=True)
        for address, count in _merged_ranges(layout)
    ]
    return blocks or [SimData(0, datatype=DataType.INVALID)]


def _action(device: SimulatedDevice):
    """The hook pymodbus calls on every access to ``device``'s registers."""

    async def on_access(function_code, start_address, address, count, registers, values):
        if device.exception_code is not None:
            return ExcCodes(device.exception_code)
        table = _TABLE_OF_FUNCTION.get(function_code)
        if table is not None and values is None:
            offset = address - start_address
            registers[offset : offset + count] = device.words(table, address, count)
        return None

    return on_access


def _sim_device(unit_id: int, device: SimulatedDevice | None) -> SimDevice:
    no_bits = [SimData(0, values=False, datatype=DataType.BITS)]
    if device is None:
        return SimDevice(unit_id, simdata=(no_bits, no_bits, _registers([]), _registers([])))
    holding, inputs = _registers(device.layout(Table.HOLDING)), _registers(device.layout(Table.INPUT))
    return SimDevice(unit_id, simdata=(no_bits, no_bits, holding, inputs), action=_action(device))


def _sim_devices(devices: Sequence[SimulatedDevice]) -> list[SimDevice]:
    return [_sim_device(_CATCH_ALL_UNIT, None)] + [_sim_device(device.unit_id, device) for device in devices]


def _silencer(framer: FramerType, devices: Sequence[SimulatedDevice]) -> Callable[[bool, bytes], bytes]:
    """Drop outgoing frames of unit ids that must not answer."""
    answering = frozenset(device.unit_id for device in devices if device.answers)
    unit_byte = _UNIT_BYTE[framer]

    def trace_packet(sending: bool, data: bytes) -> bytes:
        if sending and len(data) > unit_byte and data[unit_byte] not in answering:
            return b""
        return data

    return trace_packet


@asynccontextmanager
async def _serving(server: ModbusBaseServer, where: str) -> AsyncIterator[ModbusBaseServer]:
    if not await _listen(server):
        raise SimServerError(f"no se puede servir Modbus en {where} (en uso, no existe o sin permiso)")
    try:
        yield server
    finally:
        await asyncio.wait_for(server.shutdown(), timeout=5)


async def _listen(server: ModbusBaseServer) -> bool:
    try:
        await server.serve_forever(background=True)
    except (RuntimeError, OSError):
        return False
    return True


@asynccontextmanager
async def serve_tcp(
    devices: Sequence[SimulatedDevice], host: str, port: int, *, rtu_framing: bool = False
) -> AsyncIterator[int]:
    """Serve ``devices`` on a TCP socket (Modbus TCP, or RTU frames over TCP); yield the bound port."""
    framer = FramerType.RTU if rtu_framing else FramerType.SOCKET
    server = ModbusTcpServer(
        _sim_devices(devices),
        framer=framer,
        address=(host, port),
        ignore_missing_devices=True,
        trace_packet=_silencer(framer, devices),
    )
    async with _serving(server, f"{host}:{port}"):
        yield server.transport.sockets[0].getsockname()[1]


@asynccontextmanager
async def serve_serial(devices: Sequence[SimulatedDevice], port: str, baudrate: int = 19200) -> AsyncIterator[str]:
    """Serve ``devices`` as Modbus RTU slaves on the serial port ``port``."""
    server = ModbusSerialServer(
        _sim_devices(devices),
        framer=FramerType.RTU,
        port=port,
        baudrate=baudrate,
        ignore_missing_devices=True,
        trace_packet=_silencer(FramerType.RTU, devices),
    )
    async with _serving(server, port):
        yield port
