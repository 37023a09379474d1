"""Commissioning a gateway: find the devices on a bus, read raw registers, write site.yaml.

Library functions only (no printing): :mod:`edge.commission_cli` turns them into the
``caudal edge scan|read|init`` commands. All Modbus I/O goes through :mod:`edge.modbus`.

Why a scan tries line settings as well as unit ids: a technician at a well usually knows
neither the meter's unit id nor the baud rate and parity someone set on its menu years ago.
A device that answers with a Modbus exception is there (it parsed our frame, so the line
settings and unit id are right); a TCP gateway's own "path unavailable" / "target did not
respond" exceptions (10, 11) are the gateway speaking, not a device, and count as absent.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from edge.config import MAX_BAUDRATE, MAX_UNIT_ID, MIN_BAUDRATE, BusConfig, BusType, SiteConfig, load_site_config
from protocols.siteconfig_check import ConfigError
from edge.modbus import EXCEPTION_NAMES, DeviceException, DeviceTimeout, LinkDown, ModbusLink
from protocols.clock import Clock, SystemClock
from protocols.profiles import UnknownProfileError, load_profile
from protocols.registers import MAX_ADDRESS_SPACE, MAX_READ_COUNT, Interpretation, Table, interpretations, register_count

GATEWAY_EXCEPTIONS = frozenset({10, 11})  # a TCP gateway saying "no device behind me"
DEFAULT_BAUDRATES = (9600, 19200)
DEFAULT_PARITIES = ("N", "E")
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
        """What answered, the way a technician reads it: "FC3 holding 0: 0x4148"."""
        request = f"FC{self.probe.function_code} {self.probe.table.value} {self.probe.address}"
        if self.answer is Answer.EXCEPTION:
            name = EXCEPTION_NAMES.get(self.exception_code or 0, "unknown exception")
            return f"{request}: exception {self.exception_code} ({name})"
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


def line_label(bus: BusConfig) -> str:
    """``19200 8E1`` for a serial bus, ``tcp 10.0.0.5:502`` otherwise."""
    if bus.is_serial:
        return f"{bus.baud} {bus.bytesize}{bus.parity}{bus.stopbits}"
    return f"{bus.type.value} {bus.endpoint}"


def parse_units(text: str) -> list[int]:
    """``"1-5,10,20-22"`` -> the unit ids, each 1..MAX_UNIT_ID, in the order given, without repeats."""
    units: list[int] = []
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        first, _, last = part.partition("-")
        try:
            low, high = int(first), int(last or first)
        except ValueError:
            raise ValueError(f"units: {part!r} is not a unit id or a range like 1-{MAX_UNIT_ID}") from None
        if not 1 <= low <= high <= MAX_UNIT_ID:
            raise ValueError(f"units: {part!r} must lie within 1-{MAX_UNIT_ID}, low to high")
        units.extend(unit for unit in range(low, high + 1) if unit not in units)
    if not units:
        raise ValueError(f"units: give at least one unit id, e.g. 1-{MAX_UNIT_ID}")
    return units


def parse_baudrates(text: str) -> list[int]:
    """``"9600,19200"`` -> [9600, 19200]."""
    try:
        rates = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"baud: {text!r} is not a comma-separated list of numbers like 9600,19200") from None
    if not rates or any(not MIN_BAUDRATE <= rate <= MAX_BAUDRATE for rate in rates):
        raise ValueError(f"baud: {text!r} needs rates between {MIN_BAUDRATE} and {MAX_BAUDRATE}")
    return rates


def parse_parities(text: str) -> list[str]:
    """``"N,E"`` -> ["N", "E"] (N none, E even, O odd)."""
    parities = [part.strip().upper() for part in text.split(",") if part.strip()]
    if not parities or any(parity not in ("N", "E", "O") for parity in parities):
        raise ValueError(f"parity: {text!r} must list N, E and/or O, e.g. N,E")
    return parities


def serial_buses(
    port: str, baudrates: Sequence[int], parities: Sequence[str], timeout_s: float, stopbits: int = 1
) -> list[BusConfig]:
    """One bus per line setting to try on ``port``, most common first (as listed)."""
    return [
        BusConfig(
            name="scan", type=BusType.RTU, port=port, baud=rate, parity=parity, stopbits=stopbits, timeout_s=timeout_s
        )
        for rate in baudrates
        for parity in parities
    ]


def tcp_bus(host: str, tcp_port: int = 502, timeout_s: float = 1.0, rtu_over_tcp: bool = False) -> BusConfig:
    """A TCP gateway or meter (``rtu_over_tcp`` for a transparent serial-to-Ethernet bridge)."""
    kind = BusType.RTU_OVER_TCP if rtu_over_tcp else BusType.TCP
    return BusConfig(name="scan", type=kind, host=host, port=str(tcp_port), timeout_s=timeout_s)


@asynccontextmanager
async def opened(bus: BusConfig) -> AsyncIterator[ModbusLink]:
    """An open link to ``bus``, closed on the way out; :class:`~edge.modbus.LinkDown` if it cannot open."""
    link = ModbusLink(bus)
    try:
        await link.connect()
        yield link
    finally:
        link.close()


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


@dataclass(frozen=True)
class RawRead:
    """What a raw read returned and every way to read it."""

    unit_id: int
    table: Table
    address: int
    words: tuple[int, ...]
    interpretations: list[Interpretation] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "unit_id": self.unit_id,
            "table": self.table.value,
            "address": self.address,
            "count": len(self.words),
            "words": list(self.words),
            "hex": [f"0x{word:04X}" for word in self.words],
            "interpretations": [interpretation_dict(item) for item in self.interpretations],
        }


def byte_layout(interpretation: Interpretation) -> str:
    """The wire order of the value's bytes, ``A`` most significant: ABCD, CDAB, BADC, DCBA..."""
    letters = "ABCDEFGH"[: 2 * register_count(interpretation.data_type)]
    words = [letters[i : i + 2] for i in range(0, len(letters), 2)]
    if interpretation.byte_swap:
        words = [word[::-1] for word in words]
    if interpretation.word_order == "little":
        words.reverse()
    return "".join(words)


def interpretation_dict(item: Interpretation) -> dict[str, Any]:
    return {
        "type": item.data_type.value,
        "word_order": item.word_order.value,
        "byte_swap": item.byte_swap,
        "layout": byte_layout(item),
        "value": item.value,
    }


def validate_read(address: int, count: int) -> None:
    """A clear error before anything goes on the wire."""
    last = MAX_ADDRESS_SPACE - 1
    if not 0 <= address <= last:
        raise ValueError(f"address {address} must be a 0-based wire address 0..{last} (manual 40001 is address 0)")
    if not 1 <= count <= MAX_READ_COUNT:
        raise ValueError(f"count {count} must be 1..{MAX_READ_COUNT} registers")
    if address + count > MAX_ADDRESS_SPACE:
        raise ValueError(f"address {address} + count {count} runs past the last register {last}")


async def raw_read(link: ModbusLink, unit_id: int, table: Table, address: int, count: int, timeout_s: float) -> RawRead:
    """Read ``count`` registers and interpret them from the first word under every type and order."""
    validate_read(address, count)
    words = tuple(await link.read(table, address, count, unit_id, timeout_s))
    return RawRead(unit_id, table, address, words, interpretations(words))


SITE_HEADER = """\
# Site configuration of gateway {gateway}, written by `caudal edge init`.
# Check it with `caudal edge check -c {path}` and try it with `caudal edge poll-once -c {path}`.
# Addresses are 0-based wire addresses; units are those shown on each meter's display.
"""


def render_site_yaml(site: dict[str, Any], path: str = "site.yaml") -> str:
    """The YAML text of a site (sections gateway, buses, devices), with each meter's model as a comment."""
    data = _tidy(site)
    parts = [
        SITE_HEADER.format(gateway=data["gateway"].get("id"), path=path),
        _dump({"gateway": data["gateway"]}),
        "\n# Buses: one per serial port (rtu) or TCP endpoint (tcp, rtu-over-tcp).\n",
        _dump({"buses": data["buses"]}),
        "\ndevices:\n",
    ]
    for device in data["devices"]:
        parts.append(_device_comment(device.get("profile")))
        parts.append(_indent(_dump([device])))
    return "".join(parts)


def _tidy(data: Any) -> Any:
    """Whole floats as integers and TCP ports as numbers, as a person would write them."""
    if isinstance(data, dict):
        tidy = {key: _tidy(value) for key, value in data.items()}
        if tidy.get("type") in (BusType.TCP.value, BusType.RTU_OVER_TCP.value) and str(tidy.get("port", "")).isdigit():
            tidy["port"] = int(tidy["port"])
        return tidy
    if isinstance(data, list):
        return [_tidy(item) for item in data]
    if isinstance(data, float) and data.is_integer():
        return int(data)
    return data


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)


def _indent(text: str) -> str:
    return "".join(f"  {line}" for line in text.splitlines(keepends=True))


def _device_comment(profile_name: str | None) -> str:
    if profile_name is None:
        return "  # registers given by hand\n"
    try:
        profile = load_profile(profile_name)
    except UnknownProfileError:
        return f"  # profile {profile_name} (unknown)\n"
    variables = ", ".join(f"{spec.variable} ({spec.unit})" for spec in profile.registers)
    return f"  # {profile.manufacturer} {profile.model}: {variables}\n"


def init_site_config(path: Path, data: dict[str, Any], overwrite: bool = False) -> SiteConfig:
    """Write ``data`` as a commented site.yaml at ``path`` once it validates; nothing is written otherwise.

    The file is written beside ``path`` and renamed into place, and read back with the
    agent's own loader first, so a half-written or unloadable file never replaces a good one.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; choose another --output, or add --force to overwrite it")
    text = render_site_yaml(data, str(path))
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or Path("."))
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, 0o644)
        config = _load_as(temporary, path)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return config


def _load_as(temporary: str, path: Path) -> SiteConfig:
    """The agent's own loader on the draft; its messages name the file being written."""
    try:
        return load_site_config(temporary)
    except ConfigError as exc:
        raise ConfigError([replace(problem, file=str(path)) for problem in exc.problems]) from None
