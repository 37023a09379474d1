"""The site configuration of one gateway (``site.yaml``), validated before anything runs.

Every mistake is reported at once, each naming file, line and field, because the person
reading the message is a technician commissioning a well, not the author of this code.
Pydantic checks each value; :mod:`protocols.siteconfig_check` checks what spans fields (a device on an
unknown bus, two devices answering the same unit id, a profile that does not exist).
"""

from __future__ import annotations

import errno
import ipaddress
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, TypeVar, cast
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from protocols.profiles import load_profile
from protocols.registers import LoopScaling, RegisterSpec, Table, VariableName
from protocols.registerwords import DataType, WordOrder
from protocols.siteconfig_check import (
    ConfigError,
    ConfigProblem,
    Problem,
    cross_check,
    format_path,
    missing_serial_ports,
    pydantic_problems,
)
from protocols.uplink import Name
from protocols.yamlsource import LineMap, YamlSyntaxError, parse_yaml

MAX_UNIT_ID = 247
MIN_BAUDRATE = 300  # what RS-485 adapters and meters offer, slowest to fastest
MAX_BAUDRATE = 921_600


ModelT = TypeVar("ModelT", bound="ManagedConfig | SiteConfig")


class SiteModel(BaseModel):
    """A part of the site file: a key it does not know is refused, since a misspelt one would
    otherwise be dropped silently (and its default used)."""

    model_config = ConfigDict(extra="forbid")


class BusType(StrEnum):
    RTU = "rtu"  # RS-485 serial port
    TCP = "tcp"  # Modbus TCP
    RTU_OVER_TCP = "rtu-over-tcp"  # RTU frames through a serial-to-Ethernet bridge


class GatewayConfig(SiteModel):
    id: Name
    central_url: str
    token_file: Path
    buffer_path: Path
    buffer_max_mb: int = Field(default=512, ge=1, le=1_000_000)
    ca_bundle: Path | None = None
    heartbeat_s: float = Field(default=60.0, gt=0, le=3600)
    # central: buses and devices come from the central server (issue 18); local: only this file
    config_source: Literal["local", "central"] = "local"
    # a central version after which no device answers for this many poll cycles is rolled back
    rollback_cycles: int = Field(default=3, ge=1, le=100)

    @field_validator("central_url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(f"{url!r} no es una URL https:// (por ejemplo https://central.example.cl)")
        return url.rstrip("/")

    @property
    def plain_http_remote(self) -> bool:
        """True when readings and the token would cross a network unencrypted."""
        parts = urlsplit(self.central_url)
        return parts.scheme == "http" and not _is_loopback(parts.hostname or "")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class BusConfig(SiteModel):
    """One physical link: a serial port, or one TCP endpoint (a meter or a bridge)."""

    model_config = ConfigDict(coerce_numbers_to_str=True)

    name: Name
    type: BusType
    port: str | None = None  # serial device path for rtu, TCP port number otherwise
    host: str | None = None
    baud: int = Field(default=9600, ge=MIN_BAUDRATE, le=MAX_BAUDRATE)
    baudrate: int | None = Field(default=None, ge=MIN_BAUDRATE, le=MAX_BAUDRATE, exclude=True)  # baud's old name
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    bytesize: Literal[7, 8] = 8
    timeout_s: float = Field(default=1.0, gt=0, le=30)
    pause_ms: int = Field(default=20, ge=0, le=10_000)
    connect_pause_ms: int = Field(default=0, ge=0, le=60_000)
    _old_baud_name: bool = PrivateAttr(default=False)

    @model_validator(mode="after")
    def _baud_from_old_name(self) -> BusConfig:
        """Files written before ``baud`` was the one name (``--baud`` on every command) still load."""
        if self.baudrate is None:
            return self
        if "baud" in self.model_fields_set:
            raise ValueError("indique solo baud (baudrate es su nombre antiguo)")
        self.baud, self.baudrate, self._old_baud_name = self.baudrate, None, True
        return self

    @property
    def is_serial(self) -> bool:
        return self.type is BusType.RTU

    @property
    def tcp_port(self) -> int:
        return int(self.port or 502)

    @property
    def endpoint(self) -> str:
        """The link as a person would name it in a log line."""
        return str(self.port) if self.is_serial else f"{self.host}:{self.tcp_port}"


class BackoffConfig(SiteModel):
    """How long a device that stopped answering is left alone before the next attempt."""

    initial_s: float | None = Field(default=None, gt=0)  # None: the device's interval
    max_s: float = Field(default=900.0, gt=0)
    factor: float = Field(default=2.0, ge=1.0, le=10.0)


class RegisterOverride(SiteModel):
    """What a site may change about one of a profile's registers (the unit set on the display...)."""

    variable: VariableName | None = None
    table: Table | None = None
    address: int | None = None
    manual_address: int | None = None
    type: DataType | None = None
    word_order: WordOrder | None = None
    byte_swap: bool | None = None
    scale: float | None = None
    offset: float | None = None
    unit: str | None = None
    loop: LoopScaling | None = None
    min_value: float | None = None
    max_value: float | None = None

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class DeviceConfig(SiteModel):
    name: Name
    bus: str
    unit_id: int = Field(ge=1, le=MAX_UNIT_ID)
    point: Name
    interval_s: float = Field(default=60.0, ge=1, le=86_400)
    profile: str | None = None
    overrides: dict[str, RegisterOverride] = Field(default_factory=dict)
    registers: list[RegisterSpec] = Field(default_factory=list)
    timeout_s: float | None = Field(default=None, gt=0, le=30)
    backoff: BackoffConfig = Field(default_factory=BackoffConfig)

    @field_validator("interval_s")
    @classmethod
    def _aligns_to_minutes(cls, interval: float) -> float:
        if not ((60 / interval).is_integer() or (interval / 60).is_integer()):
            raise ValueError(
                f"el intervalo de {interval:g} s no divide a 60 ni es múltiplo de 60; las lecturas se alinean "
                "a múltiplos del intervalo en el reloj (use 1, 2, 5, 10, 15, 20, 30, 60, 120, 300...)"
            )
        return interval

    @cached_property
    def specs(self) -> list[RegisterSpec]:
        """The registers this device is read for: its profile's (with overrides), then its own."""
        from_profile = load_profile(self.profile).registers_with(self.override_changes()) if self.profile else []
        return [*from_profile, *self.registers]

    def override_changes(self) -> dict[str, dict[str, Any]]:
        return {variable: override.changes() for variable, override in self.overrides.items()}

    def timeout_on(self, bus: BusConfig) -> float:
        return self.timeout_s if self.timeout_s is not None else bus.timeout_s

    @property
    def backoff_initial_s(self) -> float:
        return self.backoff.initial_s if self.backoff.initial_s is not None else self.interval_s


class ManagedConfig(SiteModel):
    """What a gateway may receive from the central server: its buses and devices (issue 18)."""

    buses: list[BusConfig] = Field(min_length=1)
    devices: list[DeviceConfig] = Field(min_length=1)


class SiteConfig(SiteModel):
    gateway: GatewayConfig
    buses: list[BusConfig] = Field(min_length=1)
    devices: list[DeviceConfig] = Field(min_length=1)

    def managed(self, document: ManagedConfig) -> SiteConfig:
        """This site with the buses and devices of a configuration received from the central server;
        the gateway section (token file, TLS, buffer) stays the local one."""
        return self.model_copy(update={"buses": document.buses, "devices": document.devices})

    def bus(self, name: str) -> BusConfig:
        return next(bus for bus in self.buses if bus.name == name)

    def warnings(self) -> list[str]:
        """Things that work but that a person should know about."""
        found = []
        if self.gateway.plain_http_remote:
            found.append(
                f"gateway.central_url {self.gateway.central_url} es http sin cifrar a un equipo remoto: "
                "el token y las lecturas viajan sin cifrar"
            )
        if not self.gateway.token_file.exists():
            found.append(f"gateway.token_file {self.gateway.token_file} no existe (el agente lo necesita)")
        found += [f"{format_path(loc)}: {message}" for loc, message in missing_serial_ports(self.buses)]
        found += [
            f"buses[{index}].baudrate: nombre antiguo, escriba baud: {bus.baud}"
            for index, bus in enumerate(self.buses)
            if bus._old_baud_name
        ]
        return found


def load_site_config(path: Path | str, *, check_devices: bool = True) -> SiteConfig:
    """Read and validate ``path``; raise :class:`ConfigError` listing every problem with its line.

    ``check_devices`` makes a serial port that does not exist an error (``caudal edge check``);
    the running agent passes False and gets it from :meth:`SiteConfig.warnings` instead.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError([ConfigProblem(str(path), 0, "", f"no se puede leer: {_unreadable(exc)}")]) from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:  # saved as Latin-1 by an editor: an accent in a comment
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError([ConfigProblem(str(path), line, "", "no es texto UTF-8: guárdelo como UTF-8")]) from exc
    return parse_site_config(text, path, check_devices=check_devices)


def _unreadable(exc: OSError) -> str:
    """Why a file cannot be read, in words (the operating system's own text for a rare cause)."""
    return _UNREADABLE.get(exc.errno or 0, exc.strerror or str(exc))


_UNREADABLE = {
    errno.ENOENT: "no existe",
    errno.EACCES: "permiso denegado",
    errno.EPERM: "permiso denegado",
    errno.EISDIR: "es una carpeta, no un archivo",
}


def parse_site_config(text: str, path: Path, *, check_devices: bool = True) -> SiteConfig:
    """Validate a whole ``site.yaml`` already read; errors name ``path``."""
    return _validated(SiteConfig, text, path, check_devices, "se esperaban las secciones gateway, buses y devices")


def parse_managed_config(text: str, path: Path) -> ManagedConfig:
    """Validate the part of a site configuration the central server stores and sends (buses and
    devices), with the same checks as ``caudal edge check`` except the gateway's own serial
    ports, which only the gateway can see. A ``gateway:`` section is refused: it names the
    gateway's token file and TLS material, which never travel."""
    return _validated(ManagedConfig, text, path, False, "se esperaban las secciones buses y devices")


def _validated(model: type[ModelT], text: str, path: Path, check_devices: bool, expected: str) -> ModelT:
    try:
        data, lines = parse_yaml(text, path)
    except YamlSyntaxError as exc:
        raise ConfigError([ConfigProblem(str(path), exc.line, "", f"no es YAML válido: {exc.problem}")]) from exc
    if not isinstance(data, dict):
        raise ConfigError([ConfigProblem(str(path), 1, "", expected)])
    try:
        config = model.model_validate(data)
    except ValidationError as exc:
        buses, devices = _valid_entries(data)
        problems = pydantic_problems(exc) + cross_check(buses, devices)
        problems += missing_serial_ports(buses) if check_devices else []
        raise _located(path, lines, problems) from exc
    problems = cross_check(config.buses, config.devices)
    problems += missing_serial_ports(config.buses) if check_devices else []
    if problems:
        raise _located(path, lines, problems)
    return cast("ModelT", config)  # model_validate of type[ModelT] returns that model


def _valid_entries(data: dict[str, Any]) -> tuple[list[BusConfig | None], list[DeviceConfig | None]]:
    """Each bus and device validated alone (None when invalid), to cross-check the valid ones."""
    return _each(BusConfig, data.get("buses")), _each(DeviceConfig, data.get("devices"))


def _each(model: type[BaseModel], entries: Any) -> list[Any]:
    if not isinstance(entries, list):
        return []
    valid: list[Any] = []
    for entry in entries:
        try:
            valid.append(model.model_validate(entry))
        except ValidationError:
            valid.append(None)
    return valid


def _located(path: Path, lines: LineMap, problems: list[Problem]) -> ConfigError:
    located = {
        ConfigProblem(str(path), lines.line_for(loc), format_path(loc), message): None for loc, message in problems
    }
    return ConfigError(sorted(located, key=lambda problem: problem.line))
