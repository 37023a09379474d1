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
    "No device answered. Check: A/B (D+/D-) not swapped, 120 ohm termination only at both ends, "
    "common ground, the device powered, the baud rates and parities tried, the unit id range."
)

Port = Annotated[str | None, typer.Option("--port", "-p", help="Serial port, e.g. /dev/serial/by-id/usb-FTDI_...")]
Host = Annotated[str | None, typer.Option("--host", help="TCP gateway or meter instead of a serial port")]
TcpPort = Annotated[int, typer.Option("--tcp-port", help="TCP port of --host")]
RtuOverTcp = Annotated[bool, typer.Option("--rtu-over-tcp", help="--host is a transparent serial bridge (RTU frames)")]
Timeout = Annotated[float, typer.Option("--timeout", min=0.01, max=30, help="Seconds to wait for each answer")]
Json = Annotated[bool, typer.Option("--json", help="Machine-readable output")]


def register(app: typer.Typer) -> None:
    """Add ``scan``, ``read`` and ``init`` to the edge command line."""
    app.command("scan")(quiet_library(scan))
    app.command("read")(quiet_library(read))
    app.command("init")(init_command)


def _target(port: str | None, host: str | None) -> None:
    if (port is None) == (host is None):
        raise fail("give either --port (serial) or --host (TCP), not both and not neither")


def scan(
    port: Port = None,
    host: Host = None,
    tcp_port: TcpPort = 502,
    rtu_over_tcp: RtuOverTcp = False,
    baud: Annotated[str, typer.Option(help="Baud rates to try, comma-separated")] = "9600,19200",
    parity: Annotated[str, typer.Option(help="Parities to try: N, E, O")] = "N,E",
    units: Annotated[str, typer.Option(help="Unit ids to try, e.g. 1-247 or 1-10,20")] = "1-247",
    address: Annotated[int, typer.Option(help="Register address the probe reads")] = 0,
    table: Annotated[str, typer.Option(help="holding (FC3), input (FC4) or both")] = "both",
    timeout: Timeout = 0.2,
    as_json: Json = False,
) -> None:
    """Find the devices on a bus: every unit id under every baud rate and parity."""
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
        raise ValueError(f"table: {table!r} must be holding, input or both")
    validate_read(address, 1)
    return [Probe(kind, address) for kind in tables[table]]


async def _run_scan(
    buses: list[BusConfig], unit_ids: list[int], probes: list[Probe], quiet: bool
) -> tuple[list[Found], list[LineUnusable]]:
    found: list[Found] = []
    unusable: list[LineUnusable] = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=errors, transient=True, disable=quiet) as progress:
        task = progress.add_task("scanning", total=len(buses) * len(unit_ids))
        async for event in scan_bus(buses, unit_ids, probes, clock=SystemClock()):
            if isinstance(event, ScanProgress):
                progress.update(task, completed=event.done, description=f"{event.line} unit {event.unit_id}")
                continue
            if isinstance(event, LineUnusable):
                unusable.append(event)
                continue
            found.append(event)
            if not quiet:
                progress.console.print(f"[green]found[/green] unit {event.unit_id} at {event.line}: {event.how}")
    return found, unusable


def _report_scan(
    buses: list[BusConfig], unit_ids: list[int], found: list[Found], unusable: list[LineUnusable], as_json: bool
) -> None:
    if as_json:
        tried = [options.line_label(bus) for bus in buses]
        skipped = [{"line": item.line, "reason": item.reason} for item in unusable]
        print(json.dumps({"endpoint": buses[0].endpoint, "tried": tried, "units": len(unit_ids),
                          "unusable": skipped, "found": [item.to_dict() for item in found]}))
        return
    for item in unusable:
        console.print(f"[yellow]skipped {item.line}: {item.reason}[/yellow]")
    if not found:
        console.print(f"[yellow]{NOTHING_FOUND_HINT}[/yellow]")
        return
    table = RichTable(title=f"Devices on {buses[0].endpoint}")
    for column in ("unit id", "line settings", "answered"):
        table.add_column(column)
    for item in found:
        table.add_row(str(item.unit_id), item.line, item.how)
    console.print(table)


def read(
    address: Annotated[int, typer.Argument(help="0-based wire address (manual 40001 = 0, 30001 = input 0)")],
    count: Annotated[int, typer.Argument(help="How many 16-bit registers")],
    port: Port = None,
    host: Host = None,
    tcp_port: TcpPort = 502,
    rtu_over_tcp: RtuOverTcp = False,
    unit: Annotated[int, typer.Option("--unit", "-u", min=1, max=MAX_UNIT_ID, help="Unit id (slave address)")] = 1,
    input_registers: Annotated[bool, typer.Option("--input", help="Input registers (FC4) instead of holding (FC3)")] = False,
    baud: Annotated[int, typer.Option(help="Baud rate of the serial line")] = 9600,
    parity: Annotated[str, typer.Option(help="Parity of the serial line: N, E or O")] = "N",
    timeout: Timeout = 1.0,
    watch: Annotated[float | None, typer.Option(help="Read again every SECONDS until Ctrl-C", min=0.1)] = None,
    as_json: Json = False,
) -> None:
    """Read registers raw: hex words and the value under every type and word/byte order."""
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
    words = RichTable(title=f"unit {result.unit_id} {result.table.value} @ {options.line_label(bus)}")
    for column in ("address", "hex", "uint16", "int16"):
        words.add_column(column, justify="right")
    for offset, word in enumerate(result.words):
        signed = word - 0x10000 if word & 0x8000 else word
        words.add_row(str(result.address + offset), f"0x{word:04X}", str(word), str(signed))
    values = RichTable(title="value from the first register, by type and order")
    for column in ("type", "layout", "word_order", "byte_swap", "value"):
        values.add_column(column, justify="right" if column == "value" else "left")
    for item in result.interpretations:
        row = interpretation_dict(item)
        value = "-" if row["value"] is None else f"{row['value']:.7g}" if isinstance(row["value"], float) else str(row["value"])
        values.add_row(row["type"], row["layout"], row["word_order"], str(row["byte_swap"]).lower(), value)
    return Group(words, values)
