"""Simulator configuration, device parsing and the `caudal sim modbus` command."""

from __future__ import annotations

import asyncio
import re
import signal
import sys

import pytest
import typer
from pydantic import ValidationError
from pymodbus.client import AsyncModbusTcpClient
from typer.testing import CliRunner

from edge.simulator import DEFAULT_LOOP, Endpoint, SimConfig, SimulatedDevice
from edge.simulator.cli import app, parse_device


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("siemens-mag6000:1", ("siemens-mag6000", 1, "none", 4)),
        ("keller-series30:12:silent", ("keller-series30", 12, "silent", 4)),
        ("xylem-magflux:3:nan", ("xylem-magflux", 3, "nan", 4)),
        ("krohne-ifc300:4:exception", ("krohne-ifc300", 4, "exception", 4)),
        ("krohne-ifc300:4:exception=2", ("krohne-ifc300", 4, "exception", 2)),
    ],
)
def test_parse_device(text: str, expected: tuple) -> None:
    device = parse_device(text)
    assert (device.profile, device.unit_id, device.fault.value, device.exception_code) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("siemens-mag6000", "'siemens-mag6000': se espera PERFIL:UNIT[:FALLA], por ejemplo siemens-mag6000:1:silent"),
        (
            "siemens-mag6000:x",
            "'siemens-mag6000:x': se espera PERFIL:UNIT[:FALLA], por ejemplo siemens-mag6000:1:silent",
        ),
        ("siemens-mag6000:1:boom", "'siemens-mag6000:1:boom': la falla debe ser una de none, silent, exception, nan"),
        ("siemens-mag6000:0", "'siemens-mag6000:0': debe ser mayor o igual que 1"),
        (
            "mag5000:1",
            "'mag5000:1': perfil desconocido 'mag5000'; disponibles: abb-aquamaster3, generic-4-20ma, "
            "keller-series30, krohne-ifc300, siemens-mag6000, xylem-magflux",
        ),
    ],
)
def test_parse_device_refuses(text: str, message: str) -> None:
    with pytest.raises(typer.BadParameter) as raised:
        parse_device(text)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"devices": [{"profile": "keller-series30", "unit_id": 1}] * 2, "tcp": {}},
            "Value error, el unit id 1 lo usa más de un equipo",
        ),
        (
            {"devices": [{"profile": "keller-series30", "unit_id": 1}], "serial": "/dev/ttyS0", "pty": True},
            "Value error, indique serial o pty, no ambos",
        ),
        (
            {"devices": [{"profile": "keller-series30", "unit_id": 1}]},
            "Value error, no hay dónde servir: indique tcp, rtu_over_tcp, serial o pty",
        ),
        ({"devices": [], "tcp": {}}, "List should have at least 1 item after validation, not 0"),
        (
            {
                "devices": [{"profile": "generic-4-20ma", "unit_id": 1, "overrides": {"flow": {"unit": "L/s"}}}],
                "tcp": {},
            },
            "Value error, el perfil 'generic-4-20ma' no tiene la variable flow; tiene: level",
        ),
    ],
)
def test_sim_config_refuses(fields: dict, message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        SimConfig.model_validate(fields)
    assert raised.value.errors()[0]["msg"] == message


@pytest.mark.parametrize(
    ("text", "expected"),
    [("127.0.0.1:5020", ("127.0.0.1", 5020)), (":0", ("127.0.0.1", 0)), ("localhost:502", ("localhost", 502))],
)
def test_endpoint_parse(text: str, expected: tuple) -> None:
    endpoint = Endpoint.parse(text)
    assert (endpoint.host, endpoint.port) == expected


def test_loop_profiles_get_a_default_range_in_the_simulator() -> None:
    (level,) = SimulatedDevice(parse_device("generic-4-20ma:1")).specs
    assert (level.loop.low, level.loop.high) == (DEFAULT_LOOP["low"], DEFAULT_LOOP["high"])


def test_help_shows_an_example() -> None:
    result = CliRunner().invoke(app, ["--help"])
    example = "caudal sim modbus --tcp 127.0.0.1:5020 --device siemens-mag6000:1 --device keller-series30:2:silent"
    assert (result.exit_code, example in " ".join(result.output.split())) == (0, True)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ["--device", "siemens-mag6000:1:boom"],
            "Valor inválido: 'siemens-mag6000:1:boom': la falla debe ser una de none, silent, exception, nan",
        ),
        (["--tcp", "5020"], "Valor inválido: se espera HOST:PUERTO, no '5020'"),
        (
            ["--device", "keller-series30:1", "--device", "siemens-mag6000:1"],
            "Valor inválido: el unit id 1 lo usa más de un equipo",
        ),
        (["--serial", "/dev/ttyS0", "--pty"], "Valor inválido: indique serial o pty, no ambos"),
        (["--exceed", "-1"], "Valor inválido: exceed_factor: debe ser mayor que 0"),
    ],
)
def test_a_bad_option_is_a_usage_error_in_spanish(args: list[str], error: str) -> None:
    result = CliRunner().invoke(app, args)
    assert (result.exit_code, result.output.splitlines()[-1]) == (2, f"Error: {error}")


async def test_command_serves_until_interrupted() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from edge.simulator.cli import app; app()",
        "--tcp",
        "127.0.0.1:0",
        "--device",
        "siemens-mag6000:1",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        first = (await asyncio.wait_for(process.stdout.readline(), timeout=20)).decode()
        port = int(re.fullmatch(r"Modbus TCP en 127\.0\.0\.1:(\d+)\n", first).group(1))
        client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=2, retries=0)
        await client.connect()
        reply = await client.read_holding_registers(3002, count=2, device_id=1)
        client.close()
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = await asyncio.wait_for(process.communicate(), timeout=10)
    assert (reply.isError(), process.returncode, rest.decode().splitlines()) == (
        False,
        0,
        [
            "  unit id 1: siemens-mag6000 [none] flow holding 3002 float32 big m3/h,"
            " totalizer holding 3014 float64 big m3",
            "Ctrl-C para detenerlo.",
            "Detenido.",
        ],
    )
