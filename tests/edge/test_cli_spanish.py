"""Every ``caudal edge`` command speaks Spanish to the technician (issue 14): one row per command,
its main line, against a real pymodbus simulator and the real ``caudal`` process.

Identifiers stay as the technician types or copies them (command and option names, site.yaml keys,
variable names, quality flags); the words around them are Spanish, as in docs/guia-tecnico.md,
whose ``status`` and ``read`` examples are checked here against what the commands print.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from rich.console import Console

from edge.buffer import Buffer
from edge.cli import status_lines
from edge.commission.cli import read_view
from edge.commission.options import serial_buses
from edge.commission.raw import RawRead
from edge.simulator.runner import run_simulator
from edge.state import AgentState, BufferReport, DeviceStatus, StatusReport
from protocols.clock import SystemClock
from protocols.registers import Table
from protocols.registerwords import interpretations
from tests.edge.sites import meter, simulated
from tests.edge.test_cli import GOOD, caudal, write_site

WIDE = {"COLUMNS": "200"}  # rich wraps at the terminal's width: one line per message here


@dataclass(frozen=True)
class Case:
    """A command line (``{site}``, ``{port}``, ``{tmp}`` filled in), the stream and exit code, and its main line."""

    command: str
    stream: str
    code: int
    line: str
    interval_s: float = 1


# ``init``'s answers given as flags: one flowmeter over TCP, no questions asked
INIT_FLAGS = (
    "--gateway-id gw-1 --central-url https://central.example.cl --host 127.0.0.1"
    " --device pozo-1:siemens-mag6000:1:OB-1 --no-interactive"
)

CASES = {
    "check": Case("check -c {site}", "out", 0, "{site}: OK (buses: 1, equipos: 1)"),
    "check warns": Case(
        "check -c {site}",
        "err",
        0,
        "aviso: el intervalo de lectura más corto (600 s) no es menor que WatchdogSec de systemd (300 s):"
        " systemd reiniciará el agente entre ciclos; baje interval_s o suba WatchdogSec en"
        " caudal-edge.service",
        interval_s=600,
    ),
    "poll-once": Case(
        "poll-once -c {site}",
        "out",
        0,
        f"equipo  punto  variable   valor  unidad  {'calidad'.ljust(len(GOOD))}  hora (UTC)",
    ),
    "poll-once fails": Case("poll-once -c {tmp}/silent.yaml", "err", 1, "pozo-9: unit id 9 no respondió en 0.2 s"),
    "status": Case(
        "status -c {site}",
        "out",
        0,
        "buffer {tmp}/buffer.db: 0 pendientes, más antigua -, perdidas 0, apartadas 0, 0.0 MB",
    ),
    "status without an agent": Case(
        "status -c {site}", "out", 0, "agente: sin archivo de estado (no corre, o nunca corrió con este buffer)"
    ),
    "status without a buffer": Case(
        "status -c {tmp}/silent.yaml",
        "err",
        1,
        "error: no hay un buffer del gateway en {tmp}/buffer-9.db (¿ya corrió el agente?)",
    ),
    "scan": Case(
        "scan --host 127.0.0.1 --tcp-port {port} --units 1 --address 3002", "out", 0, "Equipos en 127.0.0.1:{port}"
    ),
    "scan finds nothing": Case(
        "scan --host 127.0.0.1 --tcp-port {port} --units 9 --timeout 0.05",
        "out",
        1,
        "Ningún equipo respondió. Revise: A/B (D+/D-) no invertidos, terminación de 120 ohm"
        " solo en los dos extremos, GND común, el equipo encendido, los baudios y paridades"
        " probados, el rango de unit id.",
    ),
    "read": Case(
        "read --host 127.0.0.1 --tcp-port {port} --unit 1 3002 2", "out", 0, "unit id 1 holding @ tcp 127.0.0.1:{port}"
    ),
    "read refuses": Case(
        "read --host 127.0.0.1 --tcp-port {port} 70000 1",
        "err",
        2,
        "error: dirección 70000: debe ser una dirección de cable 0..65535 (el 40001 del manual es la dirección 0)",
    ),
    "init": Case(
        "init -o {tmp}/new.yaml " + INIT_FLAGS,
        "out",
        0,
        "escrito {tmp}/new.yaml; siguiente paso: caudal edge check -c {tmp}/new.yaml",
    ),
    "init refuses": Case(
        "init -o {site} " + INIT_FLAGS,
        "err",
        2,
        "error: {site} ya existe; elija otro --output, o agregue --force para reemplazarlo",
    ),
}


def silent_site(tmp_path: Path, port: int) -> None:
    """A site whose only device (unit 9) is not on the bus, with a buffer nobody created."""
    write_site(tmp_path, port, [{"name": "pozo-9", "unit_id": 9, "point": "OB-9"}]).rename(tmp_path / "silent.yaml")
    text = (tmp_path / "silent.yaml").read_text().replace("buffer.db", "buffer-9.db")
    (tmp_path / "silent.yaml").write_text(text)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_each_command_says_its_main_line_in_spanish(tmp_path: Path, case: Case) -> None:
    async with run_simulator(simulated(meter(1)), SystemClock()) as sim:
        silent_site(tmp_path, sim.tcp_port)
        site = write_site(
            tmp_path, sim.tcp_port, [{"name": "pozo-1", "unit_id": 1, "point": "OB-1", "interval_s": case.interval_s}]
        )
        with Buffer.open(tmp_path / "buffer.db"):
            pass
        fill = {"site": str(site), "port": str(sim.tcp_port), "tmp": str(tmp_path)}
        code, out, err = await caudal("edge", *(arg.format(**fill) for arg in case.command.split()), env=WIDE)
    lines = [line.strip() for line in (out if case.stream == "out" else err).splitlines()]
    assert code == case.code, (out, err)
    assert case.line.format(**fill) in lines, (out, err)


GUIDE = Path(__file__).parents[2] / "docs" / "guia-tecnico.md"


def guide_block(after: str) -> list[str]:
    """The lines of the first code block in the technician guide after the text ``after``."""
    text = GUIDE.read_text(encoding="utf-8")
    block = text[text.index(after) :].split("```\n", 2)[1]
    return block.splitlines()


def test_the_guides_status_example_is_what_status_prints() -> None:
    def at(text: str) -> datetime:
        return datetime.fromisoformat(text)

    devices = [
        DeviceStatus(
            name="caudalimetro-pozo-1", bus="rs485-1", point="OB-0601-444", ok=1440, last_ok=at("2026-11-29T13:00:00Z")
        ),
        DeviceStatus(
            name="nivel-pozo-1",
            bus="rs485-1",
            point="OB-0601-444",
            ok=1438,
            timeouts=2,
            last_ok=at("2026-11-29T13:00:00Z"),
            last_error="unit id 2 no respondió en 1 s",
        ),
    ]
    agent = AgentState(
        pid=812,
        started_at=at("2026-11-28T13:00:00Z"),
        updated_at=at("2026-11-29T13:00:00Z"),
        cycles=1440,
        overruns={"rs485-1": 0},
        last_upload=at("2026-11-29T12:59:31Z"),
        uploaded_total=2880,
        devices=devices,
        config_source="local",
        config_result="running the local site.yaml",
    )
    buffer = BufferReport(
        path=Path("/var/lib/caudal/buffer.db"), depth=0, oldest_unsent=None, dropped_total=0, size_bytes=400_000
    )
    report = StatusReport(buffer=buffer, agent=agent, agent_running=True)
    assert status_lines(report) == guide_block("Un ejemplo completo, con el agente corriendo:")


def test_the_guides_read_example_is_what_read_prints() -> None:
    """The words table whole, and the float32 rows of the interpretations, as the guide shows them."""
    bus = serial_buses("/dev/serial/by-id/usb-FTDI_...", [19200], ["E"], 1.0)[0]
    words = (0x4148, 0x0000)
    screen = Console(width=100, highlight=False)
    with screen.capture() as captured:
        screen.print(read_view(RawRead(1, Table.HOLDING, 3002, words, interpretations(words)), bus))
    printed = [line.rstrip() for line in captured.get().splitlines()]
    assert printed[:7] == guide_block("La lectura devuelve:")
    shown = [line.split("  <-")[0] for line in guide_block("y en la tabla de interpretaciones")]
    assert shown == [*printed[7:11], *(line for line in printed if "│ float32" in line), printed[-1]]
