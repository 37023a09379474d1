"""Checks of a site configuration that span fields, and error locations made readable.

Pure functions over validated models: each problem is a field path plus a message, and
:func:`protocols.siteconfig.load_site_config` turns paths into ``FILE:LINE`` through the YAML map.
Messages are Spanish, for the technician at the well and the operator at the console; field
paths stay as written in the YAML.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from protocols.messages_es import problem as spanish
from protocols.profiles import ProfileOverrideError, UnknownProfileError
from protocols.yamlsource import FieldPath

if TYPE_CHECKING:
    from protocols.siteconfig import BusConfig, DeviceConfig

Problem = tuple[FieldPath, str]


@dataclass(frozen=True)
class ConfigProblem:
    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class ConfigError(ValueError):
    """Everything wrong with one configuration file, each entry naming file, line and field."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


def format_path(path: FieldPath) -> str:
    """``("devices", 1, "registers", 0, "unit")`` -> ``devices[1].registers[0].unit``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def pydantic_problems(error: ValidationError, prefix: FieldPath = ()) -> list[Problem]:
    """pydantic's errors as (path, Spanish message), through the product's one translator."""
    return [((*prefix, *item["loc"]), spanish(dict(item))) for item in error.errors(include_url=False)]


def cross_check(buses: Sequence[BusConfig | None], devices: Sequence[DeviceConfig | None]) -> list[Problem]:
    """Every problem that no single field shows by itself.

    ``None`` stands for an entry that failed its own validation: it is skipped, and the
    others are still checked, so one run reports everything.
    """
    valid_buses = [(index, bus) for index, bus in enumerate(buses) if bus is not None]
    valid_devices = [(index, device) for index, device in enumerate(devices) if device is not None]
    return [
        *_duplicates([(index, bus.name) for index, bus in valid_buses], "buses"),
        *(problem for index, bus in valid_buses for problem in _bus_link(index, bus)),
        *_duplicates([(index, device.name) for index, device in valid_devices], "devices"),
        *_device_buses(valid_devices, [bus.name for _, bus in valid_buses] if len(valid_buses) == len(buses) else None),
        *_unit_ids(valid_devices),
        *(problem for index, device in valid_devices for problem in _registers(index, device)),
    ]


def _duplicates(names: list[tuple[int, str]], section: str) -> Iterator[Problem]:
    first: dict[str, int] = {}
    for index, name in names:
        if name in first:
            yield (section, index, "name"), f"el nombre {name!r} está repetido (también en {section}[{first[name]}])"
        first.setdefault(name, index)


def _bus_link(index: int, bus: BusConfig) -> Iterator[Problem]:
    if bus.is_serial:
        if not bus.port:
            yield ("buses", index), "un bus rtu necesita port: el dispositivo serie (por ejemplo /dev/serial/by-id/...)"
        return
    if not bus.host:
        yield ("buses", index), f"un bus {bus.type.value} necesita host: (y port:, por omisión 502)"
    if bus.port is not None and not (bus.port.isdigit() and 1 <= int(bus.port) <= 65535):
        yield ("buses", index, "port"), f"un bus {bus.type.value} necesita un puerto TCP de 1 a 65535, no {bus.port!r}"


def missing_serial_ports(buses: Sequence[BusConfig | None]) -> list[Problem]:
    """Serial ports that do not exist right now (asks the file system).

    Kept apart from :func:`cross_check` because it describes the moment, not the file: an
    error for ``caudal edge check``, only a warning for a running agent, whose bus actor
    opens a re-plugged adapter by itself.
    """
    return [
        (("buses", index, "port"), f"el puerto serie {bus.port} no existe (¿está conectado el adaptador?)")
        for index, bus in enumerate(buses)
        if bus is not None and bus.is_serial and bus.port and not Path(bus.port).exists()
    ]


def _device_buses(devices: list[tuple[int, DeviceConfig]], known: list[str] | None) -> Iterator[Problem]:
    """Devices on a bus that is not configured (not judged while a bus entry itself is invalid)."""
    if known is None:
        return
    for index, device in devices:
        if device.bus not in known:
            yield ("devices", index, "bus"), f"no hay un bus {device.bus!r}; los buses son: {', '.join(known)}"


def _unit_ids(devices: list[tuple[int, DeviceConfig]]) -> Iterator[Problem]:
    seen: dict[tuple[str, int], str] = {}
    for index, device in devices:
        key = (device.bus, device.unit_id)
        if key in seen:
            yield (
                ("devices", index, "unit_id"),
                f"el unit id {device.unit_id} del bus {device.bus!r} ya es del equipo {seen[key]!r}",
            )
        seen.setdefault(key, device.name)


def _registers(index: int, device: DeviceConfig) -> Iterator[Problem]:
    here: FieldPath = ("devices", index)
    if device.profile is None and device.overrides:
        yield (*here, "overrides"), "overrides cambia registros de un perfil, pero este equipo no tiene profile"
        return
    try:
        specs = device.specs
    except UnknownProfileError as exc:
        yield (*here, "profile"), str(exc)
        return
    except ProfileOverrideError as exc:
        yield (*here, "overrides"), str(exc)
        return
    except ValidationError as exc:
        yield from _override_problems(here, device, exc)
        return
    if not specs:
        yield here, "sin registros: indique un profile o una lista registers"
    yield from _variables_twice(here, device)


def _override_problems(here: FieldPath, device: DeviceConfig, error: ValidationError) -> Iterator[Problem]:
    """An override made a profile register invalid; point at the override that did it."""
    overrides = device.override_changes()
    for loc, message in pydantic_problems(error):
        field = loc[0] if loc else None
        culprit = next((var for var, changes in overrides.items() if field in changes), None)
        if culprit is None:
            yield (*here, "overrides"), f"{format_path(loc)}: {message}" if loc else message
        else:
            yield (*here, "overrides", culprit, *loc), message


def _variables_twice(here: FieldPath, device: DeviceConfig) -> Iterator[Problem]:
    own = len(device.registers)
    profile_vars = [spec.variable for spec in device.specs[: len(device.specs) - own]]
    seen = list(profile_vars)
    for position, spec in enumerate(device.registers):
        if spec.variable in seen:
            origin = f"el perfil {device.profile!r}" if spec.variable in profile_vars else "registers"
            yield (*here, "registers", position, "variable"), f"la variable {spec.variable!r} ya se lee (en {origin})"
        seen.append(spec.variable)
