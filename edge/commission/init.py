"""``caudal edge init``: a site.yaml from the meter profiles, from flags or by asking.

Flags make it scriptable (``--device NAME:PROFILE:UNIT:POINT`` per device); whatever is
missing is asked for when a person is at the terminal, and named as a missing flag when not.
The file is written only once the whole site validates (see :func:`edge.commission.site_yaml.init_site_config`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table as RichTable

from edge.commission.site_yaml import init_site_config
from edge.commission.terminal import console, errors, fail
from edge.config import MAX_UNIT_ID
from protocols.profiles import UnknownProfileError, available_profiles, load_profile
from protocols.siteconfig_check import ConfigError

DEFAULT_TOKEN_FILE = Path("/etc/caudal/token")
DEFAULT_BUFFER_PATH = Path("/var/lib/caudal/buffer.db")


def parse_device(text: str) -> dict[str, Any]:
    """``NAME:PROFILE:UNIT:POINT`` -> the device's fields (bus and interval added later)."""
    parts = text.split(":")
    if len(parts) != 4 or not all(parts):
        raise ValueError(
            f"--device {text!r}: se espera NOMBRE:PERFIL:UNIT:PUNTO, por ejemplo caudalimetro:siemens-mag6000:1:OB-0601-444"
        )
    name, profile, unit, point = parts
    if not unit.isdigit():
        raise ValueError(f"--device {text!r}: el unit id {unit!r} no es un número 1-{MAX_UNIT_ID}")
    return {"name": name, "profile": profile, "unit_id": int(unit), "point": point}


def parse_loop(text: str) -> tuple[str, dict[str, float]]:
    """``DEVICE:LOW:HIGH`` -> (device name, loop range at 4 mA and 20 mA)."""
    parts = text.split(":")
    try:
        name, low, high = parts[0], float(parts[1]), float(parts[2])
    except (IndexError, ValueError):
        raise ValueError(
            f"--loop {text!r}: se espera EQUIPO:BAJO:ALTO, por ejemplo nivel:0:50 (el valor a 4 mA y a 20 mA)"
        ) from None
    if len(parts) != 3 or not name:
        raise ValueError(f"--loop {text!r}: se espera EQUIPO:BAJO:ALTO")
    return name, {"low": low, "high": high}


def with_loops(devices: list[dict[str, Any]], loops: dict[str, dict[str, float]]) -> list[dict[str, Any]]:
    """Attach each ``--loop`` to the loop variables of its device's profile; a 4-20 mA device
    without one is named with the flag that gives it."""
    unknown = sorted(set(loops) - {device["name"] for device in devices})
    if unknown:
        raise ValueError(f"--loop nombra equipos que no están en ningún --device: {', '.join(unknown)}")
    result = []
    for device in devices:
        loop = loops.get(device["name"])
        if loop is None and _needs_loop(device["profile"]):
            raise ValueError(
                f"el equipo {device['name']} ({device['profile']}) necesita --loop {device['name']}:BAJO:ALTO "
                "(el valor a 4 mA y a 20 mA, por ejemplo 0:50)"
            )
        if loop is not None:
            variables = _loop_variables(device["profile"])
            device = {**device, "overrides": {variable: {"loop": loop} for variable in variables}}
        result.append(device)
    return result


def _needs_loop(profile_name: str) -> bool:
    """An unknown profile needs nothing here: the site's validation names it with its line."""
    try:
        return bool(_loop_variables(profile_name))
    except UnknownProfileError:
        return False


def _loop_variables(profile_name: str) -> list[str]:
    profile = load_profile(profile_name)
    return profile.variables if "loop" in profile.requires else []


def bus_data(
    port: str | None, host: str | None, tcp_port: int, baud: int, parity: str, timeout: float
) -> dict[str, Any]:
    """The single bus ``init`` writes: the serial port, or the TCP gateway."""
    if host is not None:
        return {"name": "tcp-1", "type": "tcp", "host": host, "port": tcp_port, "timeout_s": timeout}
    return {
        "name": "rs485-1",
        "type": "rtu",
        "port": port,
        "baud": baud,
        "parity": parity.upper(),
        "timeout_s": timeout,
    }


def site_data(
    gateway: dict[str, Any], bus: dict[str, Any], devices: list[dict[str, Any]], interval: float
) -> dict[str, Any]:
    """The whole site as the YAML will hold it: every device on the one bus."""
    placed = [
        {
            "name": d["name"],
            "bus": bus["name"],
            "unit_id": d["unit_id"],
            "point": d["point"],
            "interval_s": interval,
            **{k: v for k, v in d.items() if k in ("profile", "overrides")},
        }
        for d in devices
    ]
    return {"gateway": gateway, "buses": [bus], "devices": placed}


def print_profiles() -> None:
    table = RichTable(title="Perfiles")
    for column in ("perfil", "medidor", "variables"):
        table.add_column(column)
    for name in available_profiles():
        profile = load_profile(name)
        variables = ", ".join(f"{spec.variable} ({spec.unit})" for spec in profile.registers)
        table.add_row(name, f"{profile.manufacturer} {profile.model}", variables)
    console.print(table)


def _ask_profile() -> str:
    while True:
        answer = typer.prompt("Perfil").strip()
        if answer in available_profiles():
            return answer
        errors.print(f"[yellow]{answer!r} no es un perfil; use uno de: {', '.join(available_profiles())}[/yellow]")


def ask_devices(loops: dict[str, dict[str, float]]) -> list[dict[str, Any]]:
    """Ask for devices one by one until the technician says that was the last."""
    print_profiles()
    devices = []
    while True:
        profile = _ask_profile()
        name = typer.prompt("Nombre del equipo", default=f"{profile.split('-')[0]}-{len(devices) + 1}")
        unit = typer.prompt("Unit id (el que encontró caudal edge scan)", type=int)
        point = typer.prompt("Código del punto (la obra, por ejemplo OB-0601-444)")
        devices.append({"name": name, "profile": profile, "unit_id": unit, "point": point})
        if _loop_variables(profile) and name not in loops:
            loops[name] = {
                "low": typer.prompt("Valor a 4 mA", type=float),
                "high": typer.prompt("Valor a 20 mA", type=float),
            }
        if not typer.confirm("¿Agregar otro equipo?", default=False):
            return devices


def init_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="Dónde escribir el YAML del sitio")] = Path(
        "site.yaml"
    ),
    gateway_id: Annotated[str | None, typer.Option(help="El nombre de este gateway en el servidor central")] = None,
    central_url: Annotated[str | None, typer.Option(help="Dirección https:// del servidor central")] = None,
    token_file: Annotated[Path, typer.Option(help="Archivo con el token del gateway")] = DEFAULT_TOKEN_FILE,
    buffer_path: Annotated[Path, typer.Option(help="El buffer de lecturas en disco")] = DEFAULT_BUFFER_PATH,
    device: Annotated[
        list[str] | None, typer.Option(metavar="NOMBRE:PERFIL:UNIT:PUNTO", help="Uno por equipo (repita la opción)")
    ] = None,
    loop: Annotated[
        list[str] | None, typer.Option(metavar="EQUIPO:BAJO:ALTO", help="Valor a 4 mA y a 20 mA de un equipo 4-20 mA")
    ] = None,
    port: Annotated[str | None, typer.Option("--port", "-p", help="Puerto serie del bus RS-485")] = None,
    host: Annotated[str | None, typer.Option(help="Gateway Modbus TCP en vez de un puerto serie")] = None,
    tcp_port: Annotated[int, typer.Option(help="Puerto TCP de --host")] = 502,
    baud: Annotated[int, typer.Option(help="Baudios (de caudal edge scan)")] = 9600,
    parity: Annotated[str, typer.Option(help="Paridad N, E u O (de caudal edge scan)")] = "N",
    timeout: Annotated[float, typer.Option(help="Segundos de espera por cada respuesta")] = 1.0,
    interval: Annotated[float, typer.Option(help="Segundos entre lecturas de cada equipo")] = 60.0,
    force: Annotated[bool, typer.Option("--force", help="Reemplaza un archivo --output que ya existe")] = False,
    interactive: Annotated[
        bool | None,
        typer.Option(
            "--interactive/--no-interactive", help="Pregunta lo que falta (por omisión: si la entrada es una terminal)"
        ),
    ] = None,
) -> None:
    """Escribe el YAML del sitio desde los perfiles de medidor, con opciones o preguntando."""
    ask = sys.stdin.isatty() if interactive is None else interactive
    try:
        loops = dict(parse_loop(text) for text in loop or [])
        devices = [parse_device(text) for text in device or []]
    except ValueError as exc:
        raise fail(str(exc)) from None
    if ask:
        gateway_id = gateway_id or typer.prompt("Id del gateway (como está registrado en el servidor central)")
        central_url = central_url or typer.prompt("URL del servidor central", default="https://")
        if port is None and host is None:
            port = typer.prompt("Puerto serie (ls /dev/serial/by-id/), o vacío para TCP", default="") or None
            host = None if port else typer.prompt("Host del gateway Modbus TCP")
        devices = devices or ask_devices(loops)
    _require(gateway_id=gateway_id, central_url=central_url, port_or_host=port or host, device=devices)
    gateway = {
        "id": gateway_id,
        "central_url": (central_url or "").rstrip("/"),
        "token_file": str(token_file),
        "buffer_path": str(buffer_path),
    }
    try:
        data = site_data(
            gateway, bus_data(port, host, tcp_port, baud, parity, timeout), with_loops(devices, loops), interval
        )
        init_site_config(output, data, overwrite=force)
    except (ValueError, FileExistsError, UnknownProfileError) as exc:
        raise fail(_message(exc)) from None
    console.print(f"[green]escrito[/green] {output}; siguiente paso: caudal edge check -c {output}")


def _message(exc: Exception) -> str:
    if isinstance(exc, ConfigError):
        return "la configuración no es válida, no se escribió nada:\n" + "\n".join(
            str(problem) for problem in exc.problems
        )
    return str(exc)


def _require(**given: Any) -> None:
    flags = {
        "gateway_id": "--gateway-id",
        "central_url": "--central-url",
        "port_or_host": "--port o --host",
        "device": "--device",
    }
    missing = [flags[name] for name, value in given.items() if not value]
    if missing:
        raise fail(f"falta {', '.join(missing)} (o ejecute en una terminal para que se le pregunte)")
