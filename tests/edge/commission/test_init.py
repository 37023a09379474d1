"""``caudal edge init``: a site.yaml the agent's own loader accepts, or nothing written at all."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from edge.cli import app as edge_app
from edge.config import load_site_config
from tests.sites import FLOWMETER_POZO_1, GATEWAY_NORTE

GATEWAY = ["--gateway-id", "gw-norte-01", "--central-url", "https://central.example.cl/"]

EXPECTED_TCP_SITE = (
    """\
# Configuración del sitio del gateway gw-norte-01, escrita por `caudal edge init`.
# Revísela con `caudal edge check -c {path}` y pruébela con `caudal edge poll-once -c {path}`.
# Las direcciones son de cable (desde 0); las unidades son las de la pantalla de cada medidor.
"""
    + GATEWAY_NORTE
    + """\

# Buses: uno por puerto serie (rtu) o por dirección TCP (tcp, rtu-over-tcp).
buses:
- name: tcp-1
  type: tcp
  host: 127.0.0.1
  port: 5020
  timeout_s: 1

devices:
  # Siemens SITRANS F M MAG 6000 (Modbus RTU module): flow (m3/h), totalizer (m3)
"""
    + FLOWMETER_POZO_1
    + """\
  # ProSoft BM-1000, entrada 4-20 mA (cualquier sensor de loop): level (m)
  - name: nivel-pozo-1
    bus: tcp-1
    unit_id: 2
    point: OB-0601-444
    interval_s: 60
    profile: generic-4-20ma
    overrides:
      level:
        loop:
          low: 0
          high: 50
"""
)


@pytest.fixture
def init(invoke: Callable[..., asyncio.Future[Result]]) -> Callable[..., asyncio.Future[Result]]:
    """``caudal edge init -o SITE`` for gateway gw-norte-01, the rest of its answers given as flags: it asks nothing."""

    def run(site: Path, *flags: str) -> asyncio.Future[Result]:
        return invoke("init", "-o", str(site), *GATEWAY, *flags, "--no-interactive")

    return run


async def test_init_from_flags_writes_the_whole_commented_site(init, tmp_path):
    site = tmp_path / "site.yaml"
    result = await init(
        site,
        "--host",
        "127.0.0.1",
        "--tcp-port",
        "5020",
        "--device",
        "caudalimetro-pozo-1:siemens-mag6000:1:OB-0601-444",
        "--device",
        "nivel-pozo-1:generic-4-20ma:2:OB-0601-444",
        "--loop",
        "nivel-pozo-1:0:50",
    )
    assert result.exit_code == 0, result.output
    assert site.read_text() == EXPECTED_TCP_SITE.format(path=site)


async def test_a_serial_site_loads_with_the_agents_loader(init, tmp_path):
    site = tmp_path / "site.yaml"
    port = tmp_path / "ttyUSB-fake"  # the loader only checks that the device node exists
    port.touch()
    result = await init(
        site,
        "--port",
        str(port),
        "--baud",
        "19200",
        "--parity",
        "e",
        "--device",
        "pozo-1:abb-aquamaster3:5:OB-1",
        "--interval",
        "300",
    )
    assert result.exit_code == 0, result.output
    config = load_site_config(site)
    assert (config.buses[0].port, config.buses[0].baud, config.buses[0].parity) == (str(port), 19200, "E")
    assert [(d.name, d.profile, d.unit_id, d.point, d.interval_s) for d in config.devices] == [
        ("pozo-1", "abb-aquamaster3", 5, "OB-1", 300.0)
    ]


async def test_interactive_init_asks_for_what_is_missing(invoke, tmp_path):
    site = tmp_path / "site.yaml"
    answers = "gw-sur-02\nhttps://central.example.cl\n\n127.0.0.1\nkeller-series30\nnivel\n4\nOB-9\nn\n"
    result = await invoke("init", "-o", str(site), "--interactive", input=answers)
    assert result.exit_code == 0, result.output
    config = load_site_config(site)
    assert (config.gateway.id, config.buses[0].host, config.devices[0].profile, config.devices[0].unit_id) == (
        "gw-sur-02",
        "127.0.0.1",
        "keller-series30",
        4,
    )


async def test_interactive_init_asks_again_in_spanish(invoke, tmp_path):
    site = tmp_path / "site.yaml"
    answers = "gw-sur-02\nhttps://central.example.cl\n\n127.0.0.1\nkeller-series30\nnivel\ncuatro\n4\nOB-9\nquizás\nn\n"
    result = await invoke("init", "-o", str(site), "--interactive", input=answers)
    lines = result.output.splitlines()
    written = next(index for index, line in enumerate(lines) if line.startswith("escrito "))  # rich wraps the path
    asked = lines[lines.index("Perfil: keller-series30") : written]
    assert (result.exit_code, asked) == (
        0,
        [
            "Perfil: keller-series30",
            "Nombre del equipo [keller-1]: nivel",
            "Unit id (el que encontró caudal edge scan): cuatro",
            "Error: debe ser un número entero",
            "Unit id (el que encontró caudal edge scan): 4",
            "Código del punto (la obra, por ejemplo OB-0601-444): OB-9",
            "¿Agregar otro equipo? [s/N]: quizás",
            "Error: responda s (sí) o n (no)",
            "¿Agregar otro equipo? [s/N]: n",
        ],
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--device", "a:no-such-meter:1:P"], "{site}:25: devices[0].profile: perfil desconocido 'no-such-meter'"),
        (
            ["--device", "a:generic-4-20ma:1:P"],
            "el equipo a (generic-4-20ma) necesita --loop a:BAJO:ALTO (el valor a 4 mA y a 20 mA, por ejemplo 0:50)",
        ),
        (
            ["--device", "a:siemens-mag6000:x:P"],
            "--device 'a:siemens-mag6000:x:P': el unit id 'x' no es un número 1-247",
        ),
        (["--device", "a:siemens-mag6000:1"], "--device 'a:siemens-mag6000:1': se espera NOMBRE:PERFIL:UNIT:PUNTO"),
        (
            ["--device", "a:siemens-mag6000:1:P", "--device", "a:siemens-mag6000:2:P"],
            "{site}:27: devices[1].name: el nombre 'a' está repetido",
        ),
        (
            ["--device", "a:siemens-mag6000:1:P", "--loop", "b:0:5"],
            "--loop nombra equipos que no están en ningún --device: b",
        ),
    ],
)
async def test_a_bad_site_is_refused_and_nothing_is_written(init, tmp_path, args, message):
    site = tmp_path / "site.yaml"
    result = await init(site, "--host", "127.0.0.1", *args)
    assert result.exit_code == 2
    assert message.format(site=site) in result.stderr
    assert list(tmp_path.iterdir()) == []


async def test_missing_flags_without_a_terminal_are_named(invoke, tmp_path):
    result = await invoke("init", "-o", str(tmp_path / "site.yaml"), "--gateway-id", "gw-1", "--no-interactive")
    assert result.exit_code == 2
    assert (
        "falta --central-url, --port o --host, --device (o ejecute en una terminal para que se le pregunte)"
        in result.stderr
    )


async def test_an_existing_file_is_kept(init, tmp_path):
    site = tmp_path / "site.yaml"
    site.write_text("mine\n")
    result = await init(site, "--host", "127.0.0.1", "--device", "a:siemens-mag6000:1:P")
    assert result.exit_code == 2
    assert (
        " ".join(result.stderr.split())
        == f"error: {site} ya existe; elija otro --output, o agregue --force para reemplazarlo"
    )
    assert site.read_text() == "mine\n"


def test_help_shows_no_type_after_flags_and_names_what_repeating_flags_take():
    result = CliRunner().invoke(edge_app, ["init", "--help"], env={"COLUMNS": "100"})
    lines = [" ".join(line.split()) for line in result.stdout.splitlines()]
    assert "--device NOMBRE:PERFIL:UNIT:PUNTO" in lines
    assert "--loop EQUIPO:BAJO:ALTO Valor a 4 mA y a 20 mA de un equipo 4-20 mA" in lines
    assert "--force Reemplaza un archivo --output que ya existe" in lines
    assert not [line for line in lines if "<bool>" in line]
