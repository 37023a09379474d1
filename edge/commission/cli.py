"""``caudal edge scan | read | init``: the commands a technician commissions a gateway with.

Rich tables for a person at a well; ``--json`` for scripts. Everything that talks to a
device or writes a file lives in the library modules of :mod:`edge.commission`; this module only asks, prints and
maps errors to exit codes (0 done, 1 nothing answered / device error, 2 bad input or link).
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.live import Live
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table as RichTable

from edge.commission import options
from edge.commission.init import init_command
from edge.commission.raw import (
    RawRead,
    interpretation_dict,
    opened,
    raw_read,
    validate_read,
)
from edge.commission.scan import Found, LineUnusable, Probe, ScanProgress, scan_bus
from edge.commission.terminal import console, errors, fail, quiet_library
from edge.config import MAX_UNIT_ID, BusConfig
from edge.modbus import LinkDown, ModbusError
from protocols.clock import SystemClock
from protocols.registers import Table

NOTHING_FOUND_HINT = (
    "Ningún equipo respondió. Revise: A/B (D+/D-) no invertidos, terminación de 120 ohm solo en los dos extremos, "
    "GND común, el equipo encendido, los baudios y paridades probados, el rango de unit id."
)

Port = Annotated[
    str | None, typer.Option("--port", "-p", help="Puerto serie, por ejemplo /dev/serial/by-id/usb-FTDI_...")
]
Host = Annotated[str | None, typer.Option("--host", help="Gateway Modbus TCP o medidor TCP, en vez de un puerto serie")]
TcpPort = Annotated[int, typer.Option("--tcp-port", help="Puerto TCP de --host")]
RtuOverTcp = Annotated[
    bool, typer.Option("--rtu-over-tcp", help="--host es un conversor serie transparente (tramas RTU)")
]
Timeout = Annotated[float, typer.Option("--timeout", min=0.01, max=30, help="Segundos de espera por cada respuesta")]
Json = Annotated[bool, typer.Option("--json", help="Salida JSON, para programas")]


def register(app: typer.Typer) -> None:
    """Add ``scan``, ``read`` and ``init`` to the edge command line."""
    app.command("scan")(quiet_library(scan))
    app.command("read")(quiet_library(read))
    app.command("init")(init_command)


def _target(port: str | None, host: str | None) -> None:
    if (port is None) == (host is None):
        raise fail("indique --port (serie) o --host (TCP): uno de los dos, no ambos")


def scan(
    port: Port = None,
    host: Host = None,
    tcp_port: TcpPort = 502,
    rtu_over_tcp: RtuOverTcp = False,
    baud: Annotated[str, typer.Option(help="Baudios a probar, separados por comas")] = "9600,19200",
    parity: Annotated[str, typer.Option(help="Paridades a probar: N, E, O")] = "N,E",
    units: Annotated[str, typer.Option(help="Unit ids a probar, por ejemplo 1-247 o 1-10,20")] = "1-247",
    address: Annotated[int, typer.Option(help="Dirección del registro que lee la prueba")] = 0,
    table: Annotated[str, typer.Option(help="holding (FC3), input (FC4) o both (ambas)")] = "both",
    timeout: Timeout = 0.2,
    as_json: Json = False,
) -> None:
    """Busca los equipos de un bus: cada unit id con cada combinación de baudios y paridad."""
    _target(port, host)
    try:
        buses = _scan_buses(port, host, tcp_port, rtu_over_tcp, baud, parity, timeout)
        unit_ids = options.parse_units(units)
        probes = _probes(table, address)
    except ValueError as exc:
        raise fail(str(exc)) from None
    found, unusable = asyncio.run(_run_scan(buses, unit_ids, probes, quiet=as_json))
    if len(unusable) == len(buses):
        raise fail(unusable[0].reason)
    _report_scan(buses, unit_ids, found, unusable, as_json)
    if not found:
        raise typer.Exit(1)


def _scan_buses(
    port: str | None, host: str | None, tcp_port: int, rtu_over_tcp: bool, baud: str, parity: str, timeout: float
) -> list[BusConfig]:
    if host is not None:
        return [options.tcp_bus(host, tcp_port, timeout, rtu_over_tcp)]
    assert port is not None
    return options.serial_buses(port, options.parse_baudrates(baud), options.parse_parities(parity), timeout)


def _probes(table: str, address: int) -> list[Probe]:
    tables = {"holding": [Table.HOLDING], "input": [Table.INPUT], "both": [Table.HOLDING, Table.INPUT]}
    if table not in tables:
        raise ValueError(f"--table: {table!r} debe ser holding, input o both")
    validate_read(address, 1)
    return [Probe(kind, address) for kind in tables[table]]


async def _run_scan(
    buses: list[BusConfig], unit_ids: list[int], probes: list[Probe], quiet: bool
) -> tuple[list[Found], list[LineUnusable]]:
    found: list[Found] = []
    unusable: list[LineUnusable] = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=errors, transient=True, disable=quiet) as progress:
        task = progress.add_task("buscando", total=len(buses) * len(unit_ids))
        async for event in scan_bus(buses, unit_ids, probes, clock=SystemClock()):
            if isinstance(event, ScanProgress):
                progress.update(task, completed=event.done, description=f"{event.line} unit id {event.unit_id}")
                continue
            if isinstance(event, LineUnusable):
                unusable.append(event)
                continue
            found.append(event)
            if not quiet:
                progress.console.print(
                    f"[green]encontrado[/green] unit id {event.unit_id} con {event.line}: {event.how}"
                )
    return found, unusable


def _report_scan(
    buses: list[BusConfig], unit_ids: list[int], found: list[Found], unusable: list[LineUnusable], as_json: bool
) -> None:
    if as_json:
        tried = [options.line_label(bus) for bus in buses]
        skipped = [{"line": item.line, "reason": item.reason} for item in unusable]
        print(
            json.dumps(
                {
                    "endpoint": buses[0].endpoint,
                    "tried": tried,
                    "units": len(unit_ids),
                    "unusable": skipped,
                    "found": [item.to_dict() for item in found],
                }
            )
        )
        return
    for item in unusable:
        console.print(f"[yellow]omitido {item.line}: {item.reason}[/yellow]")
    if not found:
        console.print(f"[yellow]{NOTHING_FOUND_HINT}[/yellow]")
        return
    table = RichTable(title=f"Equipos en {buses[0].endpoint}")
    for column in ("unit id", "ajustes de línea", "respuesta"):
        table.add_column(column)
    for item in found:
        table.add_row(str(item.unit_id), item.line, item.how)
    console.print(table)


def read(
    address: Annotated[int, typer.Argument(help="Dirección de cable, desde 0 (40001 del manual = 0; 30001 = input 0)")],
    count: Annotated[int, typer.Argument(help="Cuántos registros de 16 bits")],
    port: Port = None,
    host: Host = None,
    tcp_port: TcpPort = 502,
    rtu_over_tcp: RtuOverTcp = False,
    unit: Annotated[
        int, typer.Option("--unit", "-u", min=1, max=MAX_UNIT_ID, help="Unit id (dirección Modbus del equipo)")
    ] = 1,
    input_registers: Annotated[
        bool, typer.Option("--input", help="Registros input (FC4) en vez de holding (FC3)")
    ] = False,
    baud: Annotated[int, typer.Option(help="Baudios de la línea serie")] = 9600,
    parity: Annotated[str, typer.Option(help="Paridad de la línea serie: N, E u O")] = "N",
    timeout: Timeout = 1.0,
    watch: Annotated[
        float | None, typer.Option(help="Repite la lectura cada tantos segundos, hasta Ctrl-C", min=0.1)
    ] = None,
    as_json: Json = False,
) -> None:
    """Lee registros en bruto: cada palabra en hex y el valor bajo cada tipo y orden de palabras/bytes."""
    _target(port, host)
    table = Table.INPUT if input_registers else Table.HOLDING
    try:
        validate_read(address, count)
        bus = _read_bus(port, host, tcp_port, rtu_over_tcp, baud, parity, timeout)
    except ValueError as exc:
        raise fail(str(exc)) from None
    request = (unit, table, address, count, timeout)
    try:
        asyncio.run(_watch(bus, request, watch, as_json) if watch else _read_once(bus, request, as_json))
    except LinkDown as exc:
        raise fail(str(exc)) from None
    except ModbusError as exc:
        raise fail(str(exc), code=1) from None


def _read_bus(
    port: str | None, host: str | None, tcp_port: int, rtu_over_tcp: bool, baud: int, parity: str, timeout: float
) -> BusConfig:
    if host is not None:
        return options.tcp_bus(host, tcp_port, timeout, rtu_over_tcp)
    assert port is not None
    (parity_letter,) = options.parse_parities(parity)
    return options.serial_buses(port, [baud], [parity_letter], timeout)[0]


async def _read_once(bus: BusConfig, request: tuple[int, Table, int, int, float], as_json: bool) -> None:
    async with opened(bus) as link:
        result = await raw_read(link, *request)
    if as_json:
        print(json.dumps(result.to_dict()))
    else:
        console.print(read_view(result, bus))


async def _watch(bus: BusConfig, request: tuple[int, Table, int, int, float], every: float, as_json: bool) -> None:
    clock = SystemClock()
    async with opened(bus) as link:
        with Live(console=console, auto_refresh=False, transient=False) as live:
            while True:
                view = await _watched_read(link, request)
                if as_json:
                    print(json.dumps(view if isinstance(view, dict) else view.to_dict()), flush=True)
                else:
                    live.update(read_view(view, bus) if isinstance(view, RawRead) else view["error"], refresh=True)
                await clock.sleep(every)


async def _watched_read(link: Any, request: tuple[int, Table, int, int, float]) -> RawRead | dict[str, str]:
    """One refresh; a device that stops answering is shown, not fatal, while watching."""
    try:
        return await raw_read(link, *request)
    except LinkDown:
        raise
    except ModbusError as exc:
        return {"error": str(exc)}


def read_view(result: RawRead, bus: BusConfig) -> Group:
    """Two tables: the words as read, and every interpretation of them from the first word."""
    words = RichTable(title=f"unit id {result.unit_id} {result.table.value} @ {options.line_label(bus)}")
    for column in ("dirección", "hex", "uint16", "int16"):
        words.add_column(column, justify="right")
    for offset, word in enumerate(result.words):
        signed = word - 0x10000 if word & 0x8000 else word
        words.add_row(str(result.address + offset), f"0x{word:04X}", str(word), str(signed))
    values = RichTable(title="valor desde el primer registro, por tipo y orden")
    for column in ("type", "bytes", "word_order", "byte_swap", "valor"):
        values.add_column(column, justify="right" if column == "valor" else "left")
    for item in result.interpretations:
        row = interpretation_dict(item)
        value = (
            "-"
            if row["value"] is None
            else f"{row['value']:.7g}"
            if isinstance(row["value"], float)
            else str(row["value"])
        )
        values.add_row(row["type"], row["layout"], row["word_order"], str(row["byte_swap"]).lower(), value)
    return Group(words, values)
