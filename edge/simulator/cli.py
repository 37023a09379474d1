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

app = typer.Typer(add_completion=False, rich_markup_mode=None)

DEFAULT_DEVICES = ["siemens-mag6000:1", "keller-series30:2"]
DEFAULT_TCP = "127.0.0.1:5020"


def parse_device(text: str) -> DeviceConfig:
    """``PROFILE:UNIT[:FAULT]`` with FAULT one of silent, nan, exception or exception=CODE."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[1].isdigit():
        raise typer.BadParameter(f"{text!r}: expected PROFILE:UNIT[:FAULT], e.g. siemens-mag6000:1:silent")
    fault, _, code = (parts[2] if len(parts) == 3 else "none").partition("=")
    if fault not in set(Fault):
        raise typer.BadParameter(f"{text!r}: fault must be one of {', '.join(Fault)}")
    fields = {"profile": parts[0], "unit_id": int(parts[1]), "fault": fault}
    if code:
        fields["exception_code"] = code
    try:
        return DeviceConfig.model_validate(fields)
    except ValidationError as exc:
        raise typer.BadParameter(f"{text!r}: {exc.errors()[0]['msg']}") from exc


def _describe(sim: RunningSimulator, config: SimConfig) -> list[str]:
    lines = []
    if sim.tcp_port is not None and config.tcp:
        lines.append(f"Modbus TCP on {config.tcp.host}:{sim.tcp_port}")
    if sim.rtu_over_tcp_port is not None and config.rtu_over_tcp:
        lines.append(f"Modbus RTU over TCP on {config.rtu_over_tcp.host}:{sim.rtu_over_tcp_port}")
    if sim.client_port:
        lines.append(f"Modbus RTU on a virtual serial cable: point the agent at {sim.client_port}")
    elif sim.serial_port:
        lines.append(f"Modbus RTU on serial port {sim.serial_port} ({config.baudrate} baud, 8N1)")
    for unit, device in sorted(sim.devices.items()):
        registers = ", ".join(
            f"{s.variable} {s.table.value} {s.address} {s.type.value} {s.word_order.value} {s.unit}"
            for s in device.specs
        )
        lines.append(f"  unit {unit}: {device.config.profile} [{device.config.fault.value}] {registers}")
    return lines


async def _serve(config: SimConfig) -> None:
    async with run_simulator(config, SystemClock()) as sim:
        for line in _describe(sim, config):
            typer.echo(line)
        typer.echo("Press Ctrl-C to stop.")
        await asyncio.Event().wait()


@app.command()
def modbus(
    tcp: Annotated[str | None, typer.Option(help="Serve Modbus TCP on HOST:PORT (port 0: any free port).")] = None,
    rtu_over_tcp: Annotated[str | None, typer.Option(help="Serve RTU frames over TCP on HOST:PORT.")] = None,
    serial: Annotated[str | None, typer.Option(help="Serve Modbus RTU on this serial port.")] = None,
    pty: Annotated[
        bool, typer.Option("--pty", help="Serve RTU on a virtual serial cable; prints the agent's end.")
    ] = False,
    device: Annotated[
        list[str] | None, typer.Option(help="PROFILE:UNIT[:silent|nan|exception[=CODE]], repeatable.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the flow noise (same seed, same readings).")] = 0,
    exceed: Annotated[float, typer.Option(help="Flow factor; above 1 the well exceeds its water right.")] = 1.0,
    baudrate: Annotated[int, typer.Option("--baud", help="Baud rate of --serial.")] = 19200,
) -> None:
    """Simulated flowmeters and level probes on a pumped well, until Ctrl-C.

    Example: caudal sim modbus --tcp 127.0.0.1:5020 --device siemens-mag6000:1 --device keller-series30:2:silent

    Without a transport it serves Modbus TCP on 127.0.0.1:5020 with a Siemens MAG 6000 (unit 1)
    and a KELLER level probe (unit 2).
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
    except (ValueError, ValidationError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    try:
        asyncio.run(_serve(config))
    except KeyboardInterrupt:
        typer.echo("Stopped.")
    except SimServerError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc

