"""``caudal sim dga`` / ``caudal sim sma`` as a person runs them: a real process on loopback."""

import asyncio
import signal
import sys

import pytest
import typer
from typer.testing import CliRunner

from caudal.cli import app as caudal
from compliance.dga.client import DgaClient
from compliance.dga.responses import OutcomeKind, classify
from compliance.sma.client import SmaClient
from compliance.sma.payload import build_registros
from compliance.sma.responses import SmaOutcomeKind
from compliance.standins.dga import parse_work
from compliance.standins.dga_rules import Registration
from compliance.standins.sma import Device, parse_device, parse_user
from tests.compliance.test_dga_contract import request_for
from tests.compliance.test_sma import TS, VALUES, config

CAUDAL = [sys.executable, "-c", "from caudal.cli import main; main()"]


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("OB-0601-444:12.345.678-5:secret", ("OB-0601-444", Registration("12345678-5", "secret"))),
        (
            "OB-0601-444:12345678-5:secret:blank",
            ("OB-0601-444", Registration("12345678-5", "secret", allow_blank=True)),
        ),
    ],
)
def test_parse_work(text, parsed):
    assert parse_work(text) == parsed


@pytest.mark.parametrize("text", ["OB-0601-444:12345678-5", "OB-0601-444:12345678-5:s:x"])
def test_parse_work_refuses_bad_specs(text):
    with pytest.raises(typer.BadParameter) as refused:
        parse_work(text)
    assert refused.value.message == f"se esperaba CÓDIGO:RUT:CLAVE[:blank], se recibió {text!r}"


def test_parse_device():
    assert parse_device("1234:77:12180:Q=l/s,VA=m3") == Device("1234", "77", "12180", {"Q": "l/s", "VA": "m3"})
    with pytest.raises(typer.BadParameter) as refused:
        parse_device("1234:77:Q=l/s")
    assert refused.value.message == "se esperaba UF:PROCESO:DISPOSITIVO:NOMBRE=UNIDAD[,...], se recibió '1234:77:Q=l/s'"


def test_parse_user():
    assert parse_user("77.555.666-8:cla:ve") == ("77555666-8", "cla:ve")


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["sma", "--user", "bogus"], "se esperaba RUT:CLAVE, se recibió 'bogus'"),
        (["sma", "--user", "77555666-8:"], "se esperaba RUT:CLAVE, se recibió '77555666-8:'"),
        (["sma", "--user", "123:x"], "el RUT '123' tiene dígito verificador 3; su número necesita 4"),
        (
            ["sma", "--device", "1234:77:Q=l/s"],
            "se esperaba UF:PROCESO:DISPOSITIVO:NOMBRE=UNIDAD[,...], se recibió '1234:77:Q=l/s'",
        ),
        (
            ["dga", "--work", "OB-0601-444:12345678-5"],
            "se esperaba CÓDIGO:RUT:CLAVE[:blank], se recibió 'OB-0601-444:12345678-5'",
        ),
        (["dga", "--work", "OB-0601-444:1-1:x"], "el RUT '1-1' tiene dígito verificador 1; su número necesita 9"),
        (["dga", "--rut-empresa", "bogus"], "no es un RUT (se espera uno como 77555666-8): 'bogus'"),
    ],
)
def test_a_bad_option_is_a_usage_error_naming_it(args, problem):
    result = CliRunner().invoke(caudal, ["sim", *args])
    assert (result.exit_code, result.output.splitlines()[-1]) == (2, f"Error: Valor inválido para {args[1]}: {problem}")


async def start(*args: str) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(*CAUDAL, *args, stdout=asyncio.subprocess.PIPE)
    return process, (await asyncio.wait_for(process.stdout.readline(), 20)).decode()


async def stop(process: asyncio.subprocess.Process) -> int:
    process.send_signal(signal.SIGINT)
    return await asyncio.wait_for(process.wait(), 10)


async def test_sim_dga_serves_until_interrupted(port, clock):
    url = f"http://127.0.0.1:{port}"
    process, line = await start("sim", "dga", "--port", str(port), "--work", "OB-0601-444:12345678-5:secret")
    try:
        assert line == f"Simulador DGA en {url} (1 obra(s))\n"
        async with DgaClient(url, clock, min_interval_s=0) as client:
            outcome = classify(await client.send(request_for()))
    finally:
        code = await stop(process)
    assert outcome.kind is OutcomeKind.ACCEPTED
    assert code == 0


async def test_sim_sma_serves_until_interrupted(port, clock):
    args = ["--port", str(port), "--user", "77555666-8:clave", "--device", "1234:77:12180:Q=l/s,VA=m3"]
    url = f"http://127.0.0.1:{port}"
    process, line = await start("sim", "sma", *args)
    try:
        assert line == f"Simulador SMA en {url} (1 dispositivo(s))\n"
        settings = config(url)
        async with SmaClient(settings, clock, min_interval_s=0) as client:
            reply = await client.send(build_registros(settings, TS, VALUES))
    finally:
        code = await stop(process)
    assert reply.outcome.kind is SmaOutcomeKind.ACCEPTED
    assert code == 0
