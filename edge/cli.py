"""``caudal edge ...``: thin commands, each calling one library function and formatting its result.

Exit codes: 0 success, 1 a problem the user can fix (bad config, unreadable token, no
buffer yet), 2 usage errors (typer's own).
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

import protocols.cli_es  # noqa: F401  (Typer's own words in Spanish)
from edge.buffer import PolledReading
from edge.bufferread import BufferUnreadable
from edge.commission.cli import register as register_commissioning
from edge.config import BusConfig, BusType, ConfigError, SiteConfig, load_site_config
from edge.state import AgentState, StatusReport, status_report
from edge.systemd import UNIT_WATCHDOG_S, watchdog_warning
from protocols.clock import SystemClock
from protocols.registers import RegisterSpec, Table, plan_reads
from protocols.uplink import Quality

if TYPE_CHECKING:
    from edge.oneshot import OneShot

app = typer.Typer(
    no_args_is_help=True,
    help="El agente del gateway: run, check, poll-once, status, scan, read, init.",
    rich_markup_mode=None,  # plain help: no "<bool>" after flags, and it reads on an 80-column serial console
)
DEFAULT_CONFIG = Path("/etc/caudal/site.yaml")  # where the package and the systemd unit keep it
ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="La configuración del sitio (site.yaml).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Salida JSON, para programas.")]


def configure_logging(level: int = logging.INFO) -> None:
    """One line per event: Rich on a terminal, plain ``LEVEL name: message`` for journald."""
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.logging import RichHandler

        handler: logging.Handler = RichHandler(console=Console(stderr=True), show_path=False)
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)  # its errors are ours to report, once


def load_or_exit(path: Path, *, check_devices: bool = True) -> SiteConfig:
    """The validated site, or every problem on stderr and exit 1; ``check_devices`` as in
    :func:`edge.config.load_site_config` (False where an unplugged adapter must not stop us)."""
    try:
        return load_site_config(path, check_devices=check_devices)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        raise SystemExit(1) from exc


@app.command()
def run(
    config: ConfigOption = DEFAULT_CONFIG,
    flush_s: Annotated[
        float | None,
        typer.Option(
            "--flush-s",
            min=0,
            help="Al detenerse, segundos para que las últimas lecturas lleguen al servidor (5 por omisión; 0: nada).",
        ),
    ] = None,
) -> None:
    """Corre el agente (lo que arranca systemd): lee, guarda y sube hasta SIGTERM; SIGHUP relee site.yaml."""
    from edge.agent import AgentError, run_agent

    configure_logging()
    site = load_or_exit(config, check_devices=False)
    options = {} if flush_s is None else {"flush_s": flush_s}
    try:
        asyncio.run(_run_until_signalled(site, config, partial(run_agent, **options)))
    except AgentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from exc


async def _run_until_signalled(site: SiteConfig, path: Path, run_agent) -> None:
    """SIGTERM/SIGINT stop the agent; SIGHUP (``systemctl reload``) makes it re-read ``path``."""
    stop, reload = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGHUP, reload.set)
    await run_agent(site, SystemClock(), stop, config_path=path, reload=reload)


@app.command()
def check(
    config: ConfigOption = DEFAULT_CONFIG,
    online: Annotated[
        bool,
        typer.Option(
            "--online",
            help="Pregunta además al servidor central (con el token del gateway) qué puntos puede reportar este gateway.",
        ),
    ] = False,
) -> None:
    """Valida la configuración del sitio; cada error indica archivo, línea y campo."""
    site = load_or_exit(config)
    for warning in check_warnings(site):
        print(f"aviso: {warning}", file=sys.stderr)
    for line in summary_lines(site):
        print(line)
    print(f"{config}: OK (buses: {len(site.buses)}, equipos: {len(site.devices)})")
    if online:
        check_online(site)


def check_online(site: SiteConfig) -> None:
    """Every device's point among those the server assigns to this gateway, or each one named and exit 1."""
    from edge.agent import AgentError, read_token
    from edge.online import OnlineCheckFailed, fetch_assigned_points, online_problems

    try:
        assigned = asyncio.run(fetch_assigned_points(site, read_token(site.gateway.token_file)))
    except (AgentError, OnlineCheckFailed) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from exc
    problems = online_problems(site, assigned)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        raise SystemExit(1)
    print(
        f"{site.gateway.central_url}: el gateway {assigned.gateway} puede reportar el punto de cada equipo "
        f"(puntos asignados: {', '.join(assigned.points)})"
    )


def check_warnings(site: SiteConfig) -> list[str]:
    """The site's own warnings, and whether the installed unit's watchdog fits its poll intervals."""
    shortest = min(device.interval_s for device in site.devices)
    watchdog = watchdog_warning(shortest, UNIT_WATCHDOG_S)
    return [*site.warnings(), *([f"{watchdog} en caudal-edge.service"] if watchdog else [])]


def summary_lines(site: SiteConfig) -> list[str]:
    """Per device: its bus, unit, point, interval, registers and the requests one poll costs."""
    rows = [
        [
            device.name,
            f"{bus.name} ({bus.type.value} {bus.endpoint})",
            str(device.unit_id),
            device.point,
            f"{device.interval_s:g} s",
            str(len(device.specs)),
            str(len(plan_reads(device.specs))),
        ]
        for device in site.devices
        for bus in [site.bus(device.bus)]
    ]
    return aligned(["equipo", "bus", "unit id", "punto", "cada", "registros", "consultas"], rows)


def aligned(header: list[str], rows: list[list[str]]) -> list[str]:
    """Plain columns: readable on a serial console and in a pipe, where a boxed table wraps."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=False)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]


@app.command("poll-once")
def poll_once(config: ConfigOption = DEFAULT_CONFIG, as_json: JsonOption = False) -> None:
    """Lee cada equipo una vez y muestra las lecturas convertidas; no escribe nada. Termina con 1 si
    algún registro no dio valor (lectura fallida, indescifrable o fuera de rango: vea las sugerencias)."""
    from edge.oneshot import poll_once as poll

    configure_logging(logging.ERROR)  # each device's problem is printed once below, not as the agent logs it
    site = load_or_exit(config)
    result = asyncio.run(poll(site, SystemClock()))
    for line in reading_lines(result.readings) if as_json else readings_lines(result.readings):
        print(line)
    for line in problem_lines(site, result):
        print(line, file=sys.stderr)
    if result.failed:
        raise SystemExit(1)


def reading_lines(readings: list[PolledReading]) -> list[str]:
    """One JSON object per reading: device, point, variable, value, unit, quality, ts."""
    return [
        json.dumps(
            {
                "device": r.device,
                "point": r.point,
                "variable": r.variable,
                "value": r.value,
                "unit": r.unit,
                "quality": r.quality.value,
                "ts": iso(r.ts),
            }
        )
        for r in readings
    ]


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def shown_value(variable: str, value: float | None) -> str:
    """A totalizer with every decimal the meter gave (it is what the display shows); others in 6 digits."""
    if value is None:
        return "-"
    return f"{value:.15g}" if variable == "totalizer" else f"{value:.6g}"


def readings_lines(readings: list[PolledReading]) -> list[str]:
    rows = [
        [r.device, r.point, r.variable, shown_value(r.variable, r.value), r.unit, r.quality.value, iso(r.ts)]
        for r in readings
    ]
    return aligned(["equipo", "punto", "variable", "valor", "unidad", "calidad", "hora (UTC)"], rows)


def problem_lines(site: SiteConfig, result: OneShot) -> list[str]:
    """Per device its problem, then for each register value out of range or undecodable the read that shows why."""
    lines = [f"{device}: {problem}" for device, problem in result.problems.items()]
    misread = [r for r in result.readings if r.quality in (Quality.OUT_OF_RANGE, Quality.DECODE_ERROR)]
    for reading in misread:
        device = next(d for d in site.devices if d.name == reading.device)
        spec = next(spec for spec in device.specs if spec.variable == reading.variable)
        if spec.loop is not None:
            continue  # a 4-20 mA loop out of range is the sensor's fault, not a byte order
        lines.append(
            f"sugerencia: {reading.device} {reading.variable} es {reading.quality.value}: la causa habitual es un "
            f"type, word_order o byte_swap equivocado; compare cada interpretación con la pantalla: "
            f"{read_command(site.bus(device.bus), device.unit_id, spec)}"
        )
    return lines


def read_command(bus: BusConfig, unit_id: int, spec: RegisterSpec) -> str:
    """The ``caudal edge read`` that shows ``spec``'s registers under every type and order."""
    if bus.is_serial:
        link = f"--port {bus.port} --baud {bus.baud} --parity {bus.parity}"
    else:
        link = f"--host {bus.host} --tcp-port {bus.tcp_port}" + (
            " --rtu-over-tcp" if bus.type is BusType.RTU_OVER_TCP else ""
        )
    table = " --input" if spec.table is Table.INPUT else ""
    return f"caudal edge read {link} --unit {unit_id}{table} {spec.address} {spec.count}"


@app.command()
def status(config: ConfigOption = DEFAULT_CONFIG, as_json: JsonOption = False) -> None:
    """Lecturas pendientes en el buffer, la más antigua, la última subida, errores por equipo, pérdidas."""
    site = load_or_exit(config, check_devices=False)
    try:
        report = status_report(Path(site.gateway.buffer_path))
    except FileNotFoundError as exc:
        print(f"error: {exc} (¿ya corrió el agente?)", file=sys.stderr)
        raise SystemExit(1) from exc
    except BufferUnreadable as exc:  # permission, I/O error: one line saying what to do
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from exc
    if as_json:
        print(report.model_dump_json(indent=1))
    else:
        for line in status_lines(report):
            print(line)


def status_lines(report: StatusReport) -> list[str]:
    """The report as the technician guide explains it, line by line (docs/guia-tecnico.md, paso 7)."""
    buffer, agent = report.buffer, report.agent
    oldest = iso(buffer.oldest_unsent) if buffer.oldest_unsent else "-"
    lines = [
        f"buffer {buffer.path}: {buffer.depth} pendientes, más antigua {oldest}, perdidas {buffer.dropped_total}, "
        f"apartadas {buffer.set_aside}, {buffer.size_bytes / 1e6:.1f} MB"
    ]
    if agent is None:
        return [*lines, "agente: sin archivo de estado (no corre, o nunca corrió con este buffer)"]
    lines += [
        f"agente pid {agent.pid} ({'corriendo' if report.agent_running else 'DETENIDO; último estado conocido'}), "
        f"inició {iso(agent.started_at)}, {agent.cycles} ciclos, "
        f"reloj {'sincronizado' if agent.clock_synced else 'NO sincronizado'}",
        f"subida: {agent.uploaded_total} lecturas subidas, última subida "
        f"{iso(agent.last_upload) if agent.last_upload else '-'}, error {agent.uploader_error or '-'}",
        "ciclos atrasados: " + (", ".join(f"{bus} {count}" for bus, count in agent.overruns.items()) or "-"),
    ]
    if agent.config_source is not None:
        lines.append(configuration_line(agent))
    rows = [
        [
            d.name,
            d.bus,
            str(d.ok),
            str(d.timeouts),
            str(d.errors),
            str(d.decode_errors),
            iso(d.last_ok) if d.last_ok else "-",
            iso(d.backoff_until) if d.backoff_until else "-",
            d.last_error or "",
        ]
        for d in agent.devices
    ]
    header = ["equipo", "bus", "ok", "timeouts", "errores", "decode", "último ok", "espera hasta", "último error"]
    return lines + aligned(header, rows)


def configuration_line(agent: AgentState) -> str:
    """Where the running buses and devices come from; the result is the agent's own words, as the
    central server also receives and parses them (edge/managed.py)."""
    version = f"versión {agent.config_version}" if agent.config_version is not None else "sin versión central"
    published = agent.config_published if agent.config_published is not None else "-"
    return (
        f"configuración: {agent.config_source}, {version} (el servidor publica {published}),"
        f" {agent.config_result or '-'}"
    )


register_commissioning(app)  # scan, read, init (edge/commission/cli.py)
