"""``caudal sim modbus``: simulated meters for commissioning practice, training and the demo."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from pydantic import ValidationError

import protocols.cli_es  # noqa: F401  (Typer's own words in Spanish)
from edge.simulator.device import DeviceConfig, Fault
from edge.simulator.runner import Endpoint, RunningSimulator, SimConfig, run_simulator
from edge.simulator.server import SimServerError
from edge.simulator.well import WellParams
from protocols.clock import SystemClock
from protocols.messages_es import problem

app = typer.Typer(add_completion=False, rich_markup_mode=None)

DEFAULT_DEVICES = ["siemens-mag6000:1", "keller-series30:2"]
DEFAULT_TCP = "127.0.0.1:5020"


def parse_device(text: str) -> DeviceConfig:
    """``PROFILE:UNIT[:FAULT]`` with FAULT one of silent, nan, exception or exception=CODE."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[1].isdigit():
        raise typer.BadParameter(f"{text!r}: se espera PERFIL:UNIT[:FALLA], por ejemplo siemens-mag6000:1:silent")
    fault, _, code = (parts[2] if len(parts) == 3 else "none").partition("=")
    if fault not in set(Fault):
        raise typer.BadParameter(f"{text!r}: la falla debe ser una de {', '.join(Fault)}")
    fields = {"profile": parts[0], "unit_id": int(parts[1]), "fault": fault}
    if code:
        fields["exception_code"] = code
    try:
        return DeviceConfig.model_validate(fields)
    except ValidationError as exc:
        raise typer.BadParameter(f"{text!r}: {problem(exc.errors()[0])}") from exc


def _describe(sim: RunningSimulator, config: SimConfig) -> list[str]:
    lines = []
    if sim.tcp_port is not None and config.tcp:
        lines.append(f"Modbus TCP en {config.tcp.host}:{sim.tcp_port}")
    if sim.rtu_over_tcp_port is not None and config.rtu_over_tcp:
        lines.append(f"Modbus RTU sobre TCP en {config.rtu_over_tcp.host}:{sim.rtu_over_tcp_port}")
    if sim.client_port:
        lines.append(f"Modbus RTU en un cable serie virtual: apunte el agente a {sim.client_port}")
    elif sim.serial_port:
        lines.append(f"Modbus RTU en el puerto serie {sim.serial_port} ({config.baudrate} baudios, 8N1)")
    for unit, device in sorted(sim.devices.items()):
        registers = ", ".join(
            f"{s.variable} {s.table.value} {s.address} {s.type.value} {s.word_order.value} {s.unit}"
            for s in device.specs
        )
        lines.append(f"  unit id {unit}: {device.config.profile} [{device.config.fault.value}] {registers}")
    return lines


def config_problems(error: ValidationError) -> str:
    """A simulator configuration's problems in Spanish, each after the option it concerns."""
    return "; ".join(
        f"{'.'.join(map(str, item['loc']))}: {problem(dict(item))}" if item["loc"] else problem(dict(item))
        for item in error.errors()
    )


async def _serve(config: SimConfig) -> None:
    async with run_simulator(config, SystemClock()) as sim:
        for line in _describe(sim, config):
            typer.echo(line)
        typer.echo("Ctrl-C para detenerlo.")
        await asyncio.Event().wait()


@app.command()
def modbus(
    tcp: Annotated[
        str | None, typer.Option(help="Sirve Modbus TCP en HOST:PUERTO (puerto 0: cualquiera libre).")
    ] = None,
    rtu_over_tcp: Annotated[str | None, typer.Option(help="Sirve tramas RTU sobre TCP en HOST:PUERTO.")] = None,
    serial: Annotated[str | None, typer.Option(help="Sirve Modbus RTU en este puerto serie.")] = None,
    pty: Annotated[
        bool, typer.Option("--pty", help="Sirve RTU en un cable serie virtual; muestra el extremo para el agente.")
    ] = False,
    device: Annotated[
        list[str] | None,
        typer.Option(
            metavar="PERFIL:UNIT[:silent|nan|exception[=CÓDIGO]]", help="Un equipo simulado (repita la opción)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Semilla del ruido del caudal (misma semilla, mismas lecturas).")] = 0,
    exceed: Annotated[float, typer.Option(help="Factor del caudal; sobre 1 el pozo excede su derecho de agua.")] = 1.0,
    baudrate: Annotated[int, typer.Option("--baud", help="Baudios de --serial.")] = 19200,
) -> None:
    """Caudalímetros y sondas de nivel simulados en un pozo con bomba, hasta Ctrl-C.

    Ejemplo: caudal sim modbus --tcp 127.0.0.1:5020 --device siemens-mag6000:1 --device keller-series30:2:silent

    Sin transporte, sirve Modbus TCP en 127.0.0.1:5020 con un Siemens MAG 6000 (unit id 1)
    y una sonda de nivel KELLER (unit id 2).
    """
    if not (tcp or rtu_over_tcp or serial or pty):
        tcp = DEFAULT_TCP
    try:
        config = SimConfig(
            devices=[parse_device(text) for text in device or DEFAULT_DEVICES],
            well=WellParams(exceed_factor=exceed),
            seed=seed,
            tcp=Endpoint.parse(tcp) if tcp else None,
            rtu_over_tcp=Endpoint.parse(rtu_over_tcp) if rtu_over_tcp else None,
            serial=serial,
            pty=pty,
            baudrate=baudrate,
        )
    except ValidationError as exc:
        raise typer.BadParameter(config_problems(exc)) from exc
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    try:
        asyncio.run(_serve(config))
    except KeyboardInterrupt:
        typer.echo("Detenido.")
    except SimServerError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
