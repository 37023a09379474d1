"""Finding the devices on a bus: every unit id under every line setting, one probe at a time.

Why a scan tries line settings as well as unit ids: a technician at a well usually knows
neither the meter's unit id nor the baud rate and parity someone set on its menu years ago.
A device that answers with a Modbus exception is there (it parsed our frame, so the line
settings and unit id are right); a TCP gateway's own "path unavailable" / "target did not
respond" exceptions (10, 11) are the gateway speaking, not a device, and count as absent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from edge.commission.options import line_label
from edge.config import BusConfig
from edge.modbus import (
    EXCEPTION_NAMES,
    DeviceException,
    DeviceTimeout,
    LinkDown,
    ModbusLink,
)
from protocols.clock import Clock, SystemClock
from protocols.registers import Table

GATEWAY_EXCEPTIONS = frozenset({10, 11})  # a TCP gateway saying "no device behind me"
DEFAULT_PROBES_ADDRESS = 0


class Answer(StrEnum):
    REGISTERS = "registers"  # the device returned the registers asked for
    EXCEPTION = "exception"  # the device answered with a Modbus exception code


@dataclass(frozen=True)
class Probe:
    """One request sent to every unit id: the first one answered says how the device answered."""

    table: Table
    address: int = DEFAULT_PROBES_ADDRESS
    count: int = 1

    @property
    def function_code(self) -> int:
        return 4 if self.table is Table.INPUT else 3


DEFAULT_PROBES = (Probe(Table.HOLDING), Probe(Table.INPUT))


@dataclass(frozen=True)
class ScanProgress:
    """Emitted before each unit id is tried, so a progress bar can follow."""

    done: int
    total: int
    unit_id: int
    line: str


@dataclass(frozen=True)
class Found:
    """A device that answered: where, with which line settings, and how."""

    unit_id: int
    line: str
    endpoint: str
    baud: int | None
    parity: str | None
    probe: Probe
    answer: Answer
    exception_code: int | None = None
    words: tuple[int, ...] = ()

    @property
    def how(self) -> str:
        """What answered, the way a technician reads it: "FC3 holding 0: 0x4148" (also in ``--json``)."""
        request = f"FC{self.probe.function_code} {self.probe.table.value} {self.probe.address}"
        if self.answer is Answer.EXCEPTION:
            name = EXCEPTION_NAMES.get(self.exception_code or 0, "excepción desconocida")
            return f"{request}: excepción {self.exception_code} ({name})"
        return f"{request}: " + " ".join(f"0x{word:04X}" for word in self.words)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(probe={**asdict(self.probe), "function_code": self.probe.function_code}, words=list(self.words))
        data["how"] = self.how
        return data


@dataclass(frozen=True)
class LineUnusable:
    """The port refused one line setting (an adapter without that baud rate or parity)."""

    line: str
    reason: str


ScanEvent = ScanProgress | Found | LineUnusable


async def scan_bus(
    buses: Sequence[BusConfig],
    units: Sequence[int],
    probes: Sequence[Probe] = DEFAULT_PROBES,
    pause_s: float = 0.02,
    clock: Clock | None = None,
) -> AsyncIterator[ScanEvent]:
    """Try every unit id under every line setting; yield progress and every device found.

    Each line setting gets its own open of the port (the baud rate and parity are set at
    open); a setting the port refuses is reported as :class:`LineUnusable` and skipped.
    """
    clock = clock or SystemClock()
    total, done = len(buses) * len(units), 0
    for bus in buses:
        link = ModbusLink(bus)
        try:
            await link.connect()
        except LinkDown as exc:
            link.close()
            done += len(units)
            yield LineUnusable(line_label(bus), str(exc))
            continue
        try:
            for unit_id in units:
                yield ScanProgress(done, total, unit_id, line_label(bus))
                found = await _probe_unit(link, bus, unit_id, probes, pause_s, clock)
                done += 1
                if found is not None:
                    yield found
        finally:
            link.close()
    yield ScanProgress(done, total, 0, "")


async def _probe_unit(
    link: ModbusLink, bus: BusConfig, unit_id: int, probes: Sequence[Probe], pause_s: float, clock: Clock
) -> Found | None:
    """The first probe ``unit_id`` answers, or None if it answers none (or a gateway says it is absent)."""
    for probe in probes:
        await clock.sleep(pause_s)
        try:
            words = await link.read(probe.table, probe.address, probe.count, unit_id, bus.timeout_s)
        except DeviceTimeout:
            continue
        except DeviceException as exc:
            if exc.code in GATEWAY_EXCEPTIONS:
                return None
            return _found(bus, unit_id, probe, Answer.EXCEPTION, exception_code=exc.code)
        return _found(bus, unit_id, probe, Answer.REGISTERS, words=tuple(words))
    return None


def _found(bus: BusConfig, unit_id: int, probe: Probe, answer: Answer, **details: Any) -> Found:
    serial = bus.is_serial
    return Found(
        unit_id=unit_id,
        line=line_label(bus),
        endpoint=bus.endpoint,
        baud=bus.baud if serial else None,
        parity=bus.parity if serial else None,
        probe=probe,
        answer=answer,
        **details,
    )
