"""``caudal edge run|check|poll-once|status`` as a technician (or systemd) runs them: real processes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from edge.agent import run_agent
from edge.clocksync import kernel_clock_synced
from edge.config import load_site_config
from edge.simulator.runner import run_simulator
from edge.systemd import UNIT_WATCHDOG_S, Notifier
from protocols.clock import ManualClock, SystemClock
from tests.edge.sites import SystemdManager, meter, simulated
from tests.edge.uplink_server import UplinkServer, until
from tests.ports import free_port

CAUDAL = str(Path(sys.executable).parent / "caudal")
# A value read while this machine's clock is not NTP-synchronised is (rightly) flagged.
GOOD = "good" if kernel_clock_synced() else "clock_unsynced"


def write_site(tmp_path: Path, tcp_port: int, devices: list[dict], central_url: str | None = None) -> Path:
    (tmp_path / "token").write_text("a-token")
    config = {
        "gateway": {
            "id": "gw-test-01",
            "central_url": central_url or f"http://127.0.0.1:{free_port()}",
            "token_file": str(tmp_path / "token"),
            "buffer_path": str(tmp_path / "buffer.db"),
        },
        "buses": [
            {"name": "plc", "type": "tcp", "host": "127.0.0.1", "port": tcp_port, "timeout_s": 0.2, "pause_ms": 0}
        ],
        "devices": [{"bus": "plc", "interval_s": 1, "profile": "siemens-mag6000", **d} for d in devices],
    }
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


async def caudal(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        CAUDAL, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env={**os.environ, **(env or {})}
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    return process.returncode, out.decode(), err.decode()


async def start_service(path: Path, manager: SystemdManager) -> asyncio.subprocess.Process:
    """``caudal edge run -c path`` as systemd starts it: told its notify socket, its log (stderr) kept."""
    return await asyncio.create_subprocess_exec(
        CAUDAL,
        "edge",
        "run",
        "-c",
        str(path),
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NOTIFY_SOCKET": str(manager.path)},
    )


async def test_poll_once_prints_one_json_line_per_reading_and_writes_nothing(tmp_path: Path) -> None:
    async with run_simulator(simulated(meter(1, flow=12.5), meter(2, flow=2.5)), SystemClock()) as sim:
        path = write_site(
            tmp_path,
            sim.tcp_port,
            [
                {"name": "pozo-1", "unit_id": 1, "point": "OB-0601-444"},
                {"name": "pozo-2", "unit_id": 2, "point": "OB-0601-447"},
            ],
        )
        before = datetime.now(UTC)
        code, out, err = await caudal("edge", "poll-once", "-c", str(path), "--json")
    assert (code, err) == (0, "")
    lines = [json.loads(line) for line in out.splitlines()]
    for line in lines:
        assert before <= datetime.fromisoformat(line.pop("ts")) <= datetime.now(UTC)
    assert lines == [
        {"device": "pozo-1", "point": "OB-0601-444", "variable": "flow", "value": 12.5, "unit": "L/s", "quality": GOOD},
        {
            "device": "pozo-1",
            "point": "OB-0601-444",
            "variable": "totalizer",
            "value": 1000.0,
            "unit": "m3",
            "quality": GOOD,
        },
        {"device": "pozo-2", "point": "OB-0601-447", "variable": "flow", "value": 2.5, "unit": "L/s", "quality": GOOD},
        {
            "device": "pozo-2",
            "point": "OB-0601-447",
            "variable": "totalizer",
            "value": 1000.0,
            "unit": "m3",
            "quality": GOOD,
        },
    ]
    assert not (tmp_path / "buffer.db").exists()


def without_ts(out: str) -> list[str]:
    return [line.rsplit("  ", 1)[0].rstrip() for line in out.splitlines()]


async def test_poll_once_exits_1_naming_each_failed_device_without_a_next_attempt(tmp_path: Path) -> None:
    async with run_simulator(
        simulated(meter(1), meter(4, fault="exception"), meter(5, fault="silent")), SystemClock()
    ) as sim:
        path = write_site(
            tmp_path,
            sim.tcp_port,
            [
                {"name": "pozo-1", "unit_id": 1, "point": "OB-0601-444"},
                {"name": "pozo-4", "unit_id": 4, "point": "OB-0601-447"},
                {"name": "pozo-5", "unit_id": 5, "point": "OB-0601-448"},
            ],
        )
        code, out, err = await caudal("edge", "poll-once", "-c", str(path))
    assert code == 1
    assert without_ts(out) == [
        "equipo  punto        variable   valor  unidad  calidad",
        f"pozo-1  OB-0601-444  flow       12.5   L/s     {GOOD}",
        f"pozo-1  OB-0601-444  totalizer  1000   m3      {GOOD}",
        "pozo-4  OB-0601-447  flow       -      L/s     device_error",
        "pozo-4  OB-0601-447  totalizer  -      m3      device_error",
        "pozo-5  OB-0601-448  flow       -      L/s     timeout",
        "pozo-5  OB-0601-448  totalizer  -      m3      timeout",
    ]
    assert err.splitlines() == [
        "pozo-4: unit id 4 respondió la excepción 4 (falla del equipo)",
        "pozo-5: unit id 5 no respondió en 0.2 s",
    ]


async def test_poll_once_flags_a_wrong_byte_order_and_hints_at_read(tmp_path: Path) -> None:
    """The meter sends its flow high word first; the site says low word first: 1e-41-like garbage."""
    async with run_simulator(simulated(meter(1, flow=12.5)), SystemClock()) as sim:
        path = write_site(
            tmp_path,
            sim.tcp_port,
            [{"name": "pozo-1", "unit_id": 1, "point": "OB-0601-444", "overrides": {"flow": {"word_order": "little"}}}],
        )
        code, out, err = await caudal("edge", "poll-once", "-c", str(path), "--json")
    assert code == 1
    assert [(r["variable"], r["value"], r["quality"]) for r in map(json.loads, out.splitlines())] == [
        ("flow", None, "out_of_range"),
        ("totalizer", 1000.0, GOOD),
    ]
    problem, hint = err.splitlines()
    assert problem.startswith("pozo-1: flow ") and problem.endswith(
        " L/s es distinto de cero y menor que lo que resuelve cualquier medidor"
    )
    assert hint == (
        "sugerencia: pozo-1 flow es out_of_range: la causa habitual es un type, word_order o byte_swap "
        "equivocado; compare cada interpretación con la pantalla: "
        f"caudal edge read --host 127.0.0.1 --tcp-port {sim.tcp_port} --unit 1 3002 2"
    )


async def test_poll_once_shows_a_totalizer_with_its_decimals(tmp_path: Path) -> None:
    async with run_simulator(simulated(meter(1, totalizer=183402.7)), SystemClock()) as sim:
        path = write_site(tmp_path, sim.tcp_port, [{"name": "pozo-1", "unit_id": 1, "point": "OB-0601-444"}])
        code, out, err = await caudal("edge", "poll-once", "-c", str(path))
    assert (code, err) == (0, "")
    assert without_ts(out)[2] == f"pozo-1  OB-0601-444  totalizer  183402.7  m3      {GOOD}"


async def test_run_stops_cleanly_on_sigterm_and_status_reports_what_it_left(tmp_path: Path) -> None:
    """systemd's view: READY, WATCHDOG per completed cycle, STOPPING, exit 0 on SIGTERM; then status."""
    manager = SystemdManager(tmp_path / "notify.sock")
    async with run_simulator(simulated(meter(1)), SystemClock()) as sim:
        path = write_site(tmp_path, sim.tcp_port, [{"name": "pozo-1", "unit_id": 1, "point": "OB-0601-444"}])
        process = await start_service(path, manager)
        await until(lambda: manager.count("WATCHDOG=1") >= 2, timeout_s=20)
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), 20)
    messages = manager.heard()
    manager.close()
    assert process.returncode == 0, err.decode()
    assert messages[0] == "READY=1" and messages[-1] == "STOPPING=1"
    assert set(messages[1:-1]) == {"WATCHDOG=1"}
    assert "INFO edge.agent: agente gw-test-01 iniciado: 1 buses, 1 equipos" in err.decode()

    code, out, err_text = await caudal("edge", "status", "-c", str(path), "--json")
    assert (code, err_text) == (0, "")
    report = json.loads(out)
    cycles = report["agent"]["cycles"]
    assert cycles >= 2 and report["agent"]["pid"] == process.pid and report["agent_running"] is False
    assert report["buffer"]["depth"] == 2 * cycles  # nothing uploaded: the central URL is closed
    assert report["buffer"]["dropped_total"] == 0
    assert [(d["name"], d["ok"], d["timeouts"], d["errors"]) for d in report["agent"]["devices"]] == [
        ("pozo-1", cycles, 0, 0)
    ]


async def test_status_prints_a_readable_summary(tmp_path: Path, clock: ManualClock) -> None:
    async with (
        run_simulator(simulated(meter(1), meter(2, fault="exception")), clock) as sim,
        UplinkServer(token="a-token", clock=clock) as server,
    ):
        devices = [
            {"name": "pozo-1", "unit_id": 1, "point": "OB-0601-444"},
            {"name": "pozo-2", "unit_id": 2, "point": "OB-0601-445"},
        ]
        path = write_site(tmp_path, sim.tcp_port, devices, central_url=server.url)
        stop = asyncio.Event()
        agent = asyncio.create_task(
            run_agent(load_site_config(path), clock, stop, notifier=Notifier(""), clock_synced=lambda: True)
        )
        await until(lambda: len(server.stored) == 4)
        stop.set()
        await agent
    code, out, err = await caudal("edge", "status", "-c", str(path))
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"buffer {tmp_path / 'buffer.db'}: 0 pendientes, más antigua -, perdidas 0, apartadas 0, 0.0 MB",
        f"agente pid {os.getpid()} (corriendo), inició 2026-11-28T13:00:00Z, 1 ciclos, reloj sincronizado",
        "subida: 4 lecturas subidas, última subida 2026-11-28T13:00:00Z, error -",
        "ciclos atrasados: plc 0",
        "configuración: local, sin versión central (el servidor publica -), running the local site.yaml",
        "equipo  bus  ok  timeouts  errores  decode  último ok             espera hasta  último error",
        "pozo-1  plc  1   0         0        0       2026-11-28T13:00:00Z  -",
        "pozo-2  plc  0   0         1        0       -                     -             "
        "unit id 2 respondió la excepción 4 (falla del equipo)",
    ]


async def test_status_without_a_buffer_says_so(tmp_path: Path) -> None:
    path = write_site(tmp_path, free_port(), [{"name": "pozo-1", "unit_id": 1, "point": "OB-0601-444"}])
    code, out, err = await caudal("edge", "status", "-c", str(path))
    assert (code, out) == (1, "")
    assert err == f"error: no hay un buffer del gateway en {tmp_path / 'buffer.db'} (¿ya corrió el agente?)\n"


async def test_check_prints_a_summary_of_a_good_file(tmp_path: Path) -> None:
    path = write_site(
        tmp_path,
        1502,
        [
            {"name": "pozo-1", "unit_id": 1, "point": "OB-0601-444"},
            {"name": "pozo-2", "unit_id": 2, "point": "OB-0601-445", "interval_s": 60},
        ],
    )
    code, out, err = await caudal("edge", "check", "-c", str(path))
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "equipo  bus                       unit id  punto        cada  registros  consultas",
        "pozo-1  plc (tcp 127.0.0.1:1502)  1        OB-0601-444  1 s   2          2",
        "pozo-2  plc (tcp 127.0.0.1:1502)  2        OB-0601-445  60 s  2          2",
        f"{path}: OK (buses: 1, equipos: 2)",
    ]


async def test_check_lists_every_error_and_exits_1(tmp_path: Path) -> None:
    path = write_site(
        tmp_path,
        1502,
        [
            {"name": "pozo-1", "unit_id": 1, "point": "OB-0601-444"},
            {"name": "pozo-1", "unit_id": 1, "point": "OB-0601-445"},
        ],
    )
    code, out, err = await caudal("edge", "check", "-c", str(path))
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"{path}:23: devices[1].name: el nombre 'pozo-1' está repetido (también en devices[0])",
        f"{path}:24: devices[1].unit_id: el unit id 1 del bus 'plc' ya es del equipo 'pozo-1'",
    ]


async def test_check_names_a_missing_serial_port_and_exits_1(tmp_path: Path) -> None:
    path = write_site(tmp_path, 1502, [{"name": "pozo-1", "unit_id": 1, "point": "OB-0601-444"}])
    gone = tmp_path / "ttyUSB-unplugged"
    config = yaml.safe_load(path.read_text())
    config["buses"].append({"name": "rs485-1", "type": "rtu", "port": str(gone)})
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    code, out, err = await caudal("edge", "check", "-c", str(path))
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"{path}:15: buses[1].port: el puerto serie {gone} no existe (¿está conectado el adaptador?)"
    ]


async def test_check_warns_when_no_device_is_polled_within_the_systemd_watchdog(tmp_path: Path) -> None:
    path = write_site(tmp_path, 1502, [{"name": "pozo-1", "unit_id": 1, "point": "OB-0601-444", "interval_s": 600}])
    code, out, err = await caudal("edge", "check", "-c", str(path))
    assert code == 0 and out.endswith(f"{path}: OK (buses: 1, equipos: 1)\n")
    assert err == (
        "aviso: el intervalo de lectura más corto (600 s) no es menor que WatchdogSec de systemd (300 s): "
        "systemd reiniciará el agente entre ciclos; baje interval_s o suba WatchdogSec en caudal-edge.service\n"
    )


def test_the_watchdog_check_uses_the_shipped_units_watchdog() -> None:
    unit = (Path(__file__).parents[2] / "systemd" / "caudal-edge.service").read_text()
    assert f"\nWatchdogSec={UNIT_WATCHDOG_S:g}\n" in unit


@pytest.mark.skipif(Path("/etc/caudal/site.yaml").exists(), reason="this machine is a configured gateway")
async def test_config_defaults_to_the_installed_site_file() -> None:
    code, out, err = await caudal("edge", "check")
    assert (code, out) == (1, "")
    assert err == "/etc/caudal/site.yaml: no se puede leer: no existe\n"


async def test_check_online_says_in_one_line_when_the_server_cannot_be_asked(tmp_path: Path) -> None:
    closed = free_port()
    path = write_site(
        tmp_path,
        1502,
        [{"name": "pozo-1", "unit_id": 1, "point": "OB-0601-444"}],
        central_url=f"http://127.0.0.1:{closed}",
    )
    code, out, err = await caudal("edge", "check", "--online", "-c", str(path))
    assert (code, out.splitlines()[-1]) == (1, f"{path}: OK (buses: 1, equipos: 1)")
    assert err == (
        f"error: no se puede consultar al servidor central: no se puede conectar a 127.0.0.1:{closed}"
        " (Connection refused)\n"
    )
