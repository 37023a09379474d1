"""``caudal demo``: the whole chain runs once (real simulators, server, agent, SMTP, DGA stand-in)
and the summary it gathers from the API says every part did its job."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from caudal.demo import ADMIN_EMAIL, DemoOptions, app, run_demo
from caudal.demo_central import choose_port
from caudal.demo_summary import DemoSummary, render
from caudal.demo_wells import WELLS

NORTH, SOUTH = WELLS  # SOUTH pumps 1.5 times its water right


def child_processes() -> list[str]:
    """Commands of the processes whose parent is this one (zombies included)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[1].split()
        if int(fields[1]) == os.getpid():
            found.append(text.split("(", 1)[1].rsplit(")", 1)[0])
    return found


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoSummary, list[str]]:
    """One 20-second demo; the summary and the child processes still alive once it returned."""
    options = DemoOptions(workdir=tmp_path_factory.mktemp("demo"), seconds=20, port=0, interval_s=2)
    summary = asyncio.run(run_demo(options, asyncio.Event(), Console(quiet=True)))
    return summary, child_processes()


@pytest.fixture(scope="module")
def summary(run: tuple[DemoSummary, list[str]]) -> DemoSummary:
    return run[0]


@pytest.mark.slow
@pytest.mark.parametrize("well", WELLS, ids=lambda well: well.code)
def test_the_agent_uploaded_live_readings_after_the_backlog(summary: DemoSummary, well) -> None:
    point = next(point for point in summary.points if point.code == well.code)
    assert point.live_readings > 0
    assert point.backlog_readings > 0


@pytest.mark.slow
@pytest.mark.parametrize("well", WELLS, ids=lambda well: well.code)
def test_latest_values_behave_like_a_pumped_well(summary: DemoSummary, well) -> None:
    latest = next(point for point in summary.points if point.code == well.code).latest
    assert latest["flow"].value > well.well.flow_lps * 0.8  # pumping from the start
    assert latest["totalizer"].value > well.well.initial_totalizer_m3  # two hours of pumping counted
    assert 0 < latest["level"].value <= well.well.static_level_m
    assert latest["water_table"].value == pytest.approx(well.sensor_depth_m - latest["level"].value, abs=0.01)


@pytest.mark.slow
def test_the_gateway_is_online(summary: DemoSummary) -> None:
    assert summary.gateway_online


@pytest.mark.slow
def test_only_the_well_over_its_right_has_an_open_alert(summary: DemoSummary) -> None:
    assert {(a.subject, a.kind, a.severity, a.status) for a in summary.alerts if a.kind == "flow_above_right"} == {
        (SOUTH.code, "flow_above_right", "critical", "open")
    }
    assert NORTH.code not in {alert.subject for alert in summary.alerts}


@pytest.mark.slow
def test_the_alert_e_mail_reached_the_smtp_server(summary: DemoSummary) -> None:
    about = {
        (mail.recipients, code) for mail in summary.mails for code in (NORTH.code, SOUTH.code) if code in mail.subject
    }
    assert about == {((ADMIN_EMAIL,), SOUTH.code)}


@pytest.mark.slow
def test_the_well_within_its_right_has_slots_accepted_with_the_stand_ins_comprobantes(summary: DemoSummary) -> None:
    accepted = [slot for slot in summary.accepted_slots if slot.point == NORTH.code]
    assert accepted
    assert {slot.comprobante for slot in accepted} <= summary.issued_comprobantes


@pytest.mark.slow
def test_the_slots_of_the_well_over_its_right_are_accepted_with_the_values_measured(summary: DemoSummary) -> None:
    accepted = [slot for slot in summary.accepted_slots if slot.point == SOUTH.code]
    assert accepted
    held_by_dga = [summary.dga_holds[slot.comprobante]["caudal"] for slot in accepted]
    assert held_by_dga == [slot.caudal for slot in accepted]
    assert all(float(caudal) > SOUTH.water_right_lps * 1.3 for caudal in held_by_dga)  # pumping 1.5 x its right


@pytest.mark.slow
def test_no_slot_waits_for_review_when_every_value_is_plausible(summary: DemoSummary) -> None:
    assert [slot for slot in summary.slots if slot.state == "review"] == []


@pytest.mark.slow
def test_the_summary_names_the_api_docs_and_every_section(summary: DemoSummary) -> None:
    console = Console(record=True, width=120)
    render(summary, console)
    text = console.export_text()
    for expected in (
        "Lecturas guardadas y últimos valores por punto",
        "Alertas",
        "Correos recibidos",
        "Mediciones horarias a la DGA",
        f"Documentación de la API: {summary.api_docs}",
        "Gateway gw-demo-01: en línea, visto por última vez 20",
    ):
        assert expected in text


@pytest.mark.slow
def test_the_configuration_published_on_the_server_runs_on_the_gateway(summary: DemoSummary) -> None:
    config = summary.configuration
    assert {key: config[key] for key in ("config_source", "running_version", "pending_version", "last_result")} == {
        "config_source": "central",
        "running_version": 1,
        "pending_version": None,
        "last_result": "applied version 1",
    }


@pytest.mark.slow
def test_no_process_is_left_behind(run: tuple[DemoSummary, list[str]]) -> None:
    assert run[1] == []


@pytest.mark.slow
def test_ctrl_c_before_the_time_is_up_still_summarises_and_stops_everything(tmp_path: Path) -> None:
    stop = asyncio.Event()
    stop.set()  # as if Ctrl-C came while the parts were starting
    options = DemoOptions(workdir=tmp_path, seconds=600, port=0)
    summary = asyncio.run(asyncio.wait_for(run_demo(options, stop, Console(quiet=True)), 60))
    assert [point.backlog_readings > 0 for point in summary.points] == [True, True]
    assert child_processes() == []


@pytest.mark.parametrize("busy", [True, False], ids=["busy", "free"])
def test_the_api_port_falls_back_to_a_free_one_only_when_busy(busy: bool) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]
        if not busy:
            holder.close()
        chosen = choose_port(port)
    assert (chosen != port) == busy


def test_an_existing_database_in_the_work_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "caudal.db").write_bytes(b"not the demo's")
    result = CliRunner().invoke(app, ["--workdir", str(tmp_path), "--seconds", "1"])
    assert result.exit_code == 1
    assert result.output == (
        f"error: {tmp_path / 'caudal.db'} ya existe: la demostración necesita un directorio de trabajo vacío\n"
    )
    assert (tmp_path / "caudal.db").read_bytes() == b"not the demo's"


def test_a_bad_option_is_refused_in_spanish_naming_the_option(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--workdir", str(tmp_path), "--interval", "7", "--seconds", "0"])
    assert (result.exit_code, result.output) == (
        2,
        "error: --seconds: debe ser mayor que 0; --interval: 7 s no divide"
        " 60 (las lecturas se alinean al minuto): use 1, 2, 5, 10, 15...\n",
    )


def test_a_summary_with_nothing_in_a_section_says_so() -> None:
    console = Console(record=True, width=400)
    render(DemoSummary(api_docs="http://127.0.0.1:8000/docs", username="demo", password="pw"), console)
    lines = console.export_text().splitlines()
    assert lines[lines.index("Gateway gw-demo-01: SIN CONEXIÓN, visto por última vez nunca") : -2] == [
        "Gateway gw-demo-01: SIN CONEXIÓN, visto por última vez nunca",
        "Configuración desde el servidor: no informada; corre la versión -, publicada la - (sin resultado aún)",
        "Sin alertas.",
        "Sin correos.",
        "Sin mediciones a la DGA.",
    ]
    assert lines[-1] == (
        "Documentación de la API: http://127.0.0.1:8000/docs (entre como demo / pw; con --forever"
        " todo sigue corriendo ahí hasta Ctrl-C)"
    )
