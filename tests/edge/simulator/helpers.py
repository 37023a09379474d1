"""Reading simulated devices with a plain pymodbus client, as a test's independent witness."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient

from protocols.registers import RegisterSpec, Table, decode_reading
from protocols.uplink import Quality

Client = AsyncModbusTcpClient | AsyncModbusSerialClient


async def read_words(client: Client, spec: RegisterSpec, unit: int) -> list[int]:
    call = client.read_holding_registers if spec.table == Table.HOLDING else client.read_input_registers
    reply = await call(spec.address, count=spec.count, device_id=unit)
    assert not reply.isError(), reply
    return reply.registers


async def read_value(client: Client, spec: RegisterSpec, unit: int) -> tuple[float | None, Quality]:
    return decode_reading(spec, await read_words(client, spec, unit))


@asynccontextmanager
async def tcp_client(port: int, timeout: float = 2) -> AsyncIterator[AsyncModbusTcpClient]:
    """A connected Modbus TCP client of the simulator on ``port`` (no retries), closed on the way out."""
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=timeout, retries=0)
    await client.connect()
    try:
        yield client
    finally:
        client.close()
