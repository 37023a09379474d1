"""The one module that talks to pymodbus (docs/meters.md §11: its API churns).

Everything pymodbus, pyserial or the OS can raise while reading is mapped to three errors
of ours, which is all the bus actor and the poller need to decide what a failure means:

- :class:`DeviceTimeout`: the device did not answer in time (the link is fine);
- :class:`DeviceException`: the device answered with a Modbus exception code;
- :class:`LinkDown`: the port or connection itself is gone (unplugged adapter, refused
  connection, ENODEV); the link must be reopened.

pymodbus' own retries are kept at 0 and its "close after retries+3 unanswered requests"
rule is switched off (docs/meters.md §2): one silent slave must never close a shared
RS-485 port. Timeouts and backoff are ours, per device.
"""

from __future__ import annotations

import errno
import logging
import termios

import serial
from pymodbus import FramerType
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

from edge.config import BusConfig, BusType
from protocols.registers import Table

log = logging.getLogger(__name__)

NEVER_CLOSE_ON_SILENCE = 2**31  # unanswered requests pymodbus tolerates before closing the link


class ModbusError(Exception):
    """A read that produced no words."""


class DeviceTimeout(ModbusError):
    """No answer from the device within its timeout."""


class DeviceException(ModbusError):
    """The device answered with a Modbus exception (2: illegal address, 4: device failure...)."""

    def __init__(self, code: int, message: str) -> None:
        self.code = code
        super().__init__(message)


class LinkDown(ModbusError):
    """The serial port or TCP connection is not usable; it has to be reopened."""


EXCEPTION_NAMES = {
    1: "función no soportada",
    2: "dirección de registro inexistente",
    3: "valor no válido",
    4: "falla del equipo",
    5: "solicitud aceptada, en proceso",
    6: "equipo ocupado",
    10: "el gateway Modbus no tiene ruta al equipo",
    11: "el equipo detrás del gateway Modbus no respondió",
}


DENIED = "permiso denegado (agregue el usuario al grupo dialout: sudo adduser $USER dialout, y vuelva a entrar)"
UNRESPONSIVE = "el dispositivo no responde (¿adaptador desconectado?)"
BUSY = "ocupado: otro programa lo tiene abierto (¿el agente? deténgalo mientras comisiona: sudo systemctl stop caudal-edge)"
_PORT_PROBLEMS = {
    errno.ENOENT: "no existe (¿adaptador desconectado o ruta equivocada? vea ls /dev/serial/by-id/)",
    errno.EACCES: DENIED,
    errno.EPERM: DENIED,
    errno.EAGAIN: BUSY,
    errno.EBUSY: BUSY,
    errno.ENXIO: UNRESPONSIVE,
    errno.ENODEV: UNRESPONSIVE,
    errno.EIO: UNRESPONSIVE,
    errno.EISDIR: "no es un puerto serie",
    errno.ENOTTY: "no es un puerto serie",
}


def port_problem(code: int | None, detail: str) -> str:
    """What an open failure with OS error ``code`` means to a technician (``detail``: the OS's own text)."""
    if code is None and "Inappropriate ioctl" in detail:
        code = errno.ENOTTY  # pyserial's "could not configure port" carries the errno only in its text
    return _PORT_PROBLEMS.get(code, detail) if code is not None else detail


def serial_port_problem(path: str) -> str:
    """Why ``path`` cannot be opened right now, found by opening it as pymodbus does (with the
    exclusive lock, so a port the agent holds reads as busy)."""
    try:
        serial.Serial(path, exclusive=True).close()
    except OSError as exc:  # pyserial's SerialException is one, with the OS's errno when there is one
        return port_problem(exc.errno, str(exc))
    return "se abrió al volver a intentarlo: una falla pasajera, repita el comando"


def _client(bus: BusConfig) -> AsyncModbusSerialClient | AsyncModbusTcpClient:
    common = {"timeout": bus.timeout_s, "retries": 0, "reconnect_delay": 0, "name": bus.name}
    if bus.type is BusType.RTU:
        return AsyncModbusSerialClient(
            str(bus.port),
            framer=FramerType.RTU,
            baudrate=bus.baud,
            bytesize=bus.bytesize,
            parity=bus.parity,
            stopbits=bus.stopbits,
            **common,
        )
    framer = FramerType.RTU if bus.type is BusType.RTU_OVER_TCP else FramerType.SOCKET
    return AsyncModbusTcpClient(str(bus.host), port=bus.tcp_port, framer=framer, **common)


class ModbusLink:
    """One open serial port or TCP connection, used by exactly one bus actor."""

    def __init__(self, bus: BusConfig) -> None:
        self.bus = bus
        self._client = _client(bus)
        self._client.set_max_no_responses(NEVER_CLOSE_ON_SILENCE)

    @property
    def connected(self) -> bool:
        return self._client.connected

    async def connect(self) -> None:
        """Open the port or connection; :class:`LinkDown` says why it could not be."""
        try:
            opened = await self._client.connect()
        except OSError as exc:
            raise LinkDown(f"no se puede abrir {self.bus.endpoint}: {port_problem(exc.errno, str(exc))}") from exc
        except (ModbusException, ValueError, termios.error) as exc:
            raise LinkDown(f"no se puede abrir {self.bus.endpoint}: {exc}") from exc
        if not opened:
            raise LinkDown(f"no se puede abrir {self.bus.endpoint}: {self._open_failure()}")

    def _open_failure(self) -> str:
        """Why the open failed: pymodbus only says that it did, so a serial port is asked again."""
        if self.bus.is_serial:
            return serial_port_problem(str(self.bus.port))
        return "sin conexión (¿está encendido el equipo y son correctos host y puerto?)"

    async def read(self, table: Table, address: int, count: int, unit_id: int, timeout_s: float) -> list[int]:
        """Read ``count`` registers of ``table`` from ``unit_id``, waiting at most ``timeout_s``."""
        if not self._client.connected:
            raise LinkDown(f"{self.bus.endpoint} no está abierto")
        # pymodbus reads its answer timeout from the shared connection parameters; set per device.
        self._client.comm_params.timeout_connect = timeout_s
        try:
            reply = await self._request(table, address, count, unit_id)
        except ModbusIOException as exc:
            if not self._client.connected:
                raise LinkDown(f"{self.bus.endpoint} se cerró: {exc}") from exc
            raise DeviceTimeout(f"unit id {unit_id} no respondió en {timeout_s:g} s") from exc
        except (ConnectionException, OSError) as exc:
            raise LinkDown(f"{self.bus.endpoint}: {exc}") from exc
        except (ModbusException, TimeoutError) as exc:
            raise DeviceTimeout(f"unit id {unit_id}: {exc}") from exc
        return self._words(reply, unit_id, count)

    async def _request(self, table: Table, address: int, count: int, unit_id: int):
        if table is Table.INPUT:
            return await self._client.read_input_registers(address, count=count, device_id=unit_id)
        return await self._client.read_holding_registers(address, count=count, device_id=unit_id)

    @staticmethod
    def _words(reply, unit_id: int, count: int) -> list[int]:
        if reply.isError():
            code = int(getattr(reply, "exception_code", 0))
            name = EXCEPTION_NAMES.get(code, "excepción desconocida")
            raise DeviceException(code, f"unit id {unit_id} respondió la excepción {code} ({name})")
        words = list(reply.registers)
        if len(words) != count:
            raise DeviceException(0, f"unit id {unit_id} respondió {len(words)} registros; se pidieron {count}")
        return words

    def close(self) -> None:
        self._client.close()
