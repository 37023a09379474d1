"""``caudal edge scan`` against real pymodbus servers: exactly the devices there, with their line settings."""

from __future__ import annotations

import json

import pytest

from edge.commission import parse_baudrates, parse_parities, parse_units
from tests.edge.commission.devices import serial_devices, tcp_devices


def over_tcp(port: int) -> tuple[str, ...]:
    """The flags that point a command at the devices served on ``port`` of this machine."""
    return ("--host", "127.0.0.1", "--tcp-port", str(port))


def two_devices_found(endpoint: str, tried: list[str], line: str, serial: bool) -> dict:
    """The whole ``--json`` report of a scan of units 1-8 at holding 3002: the flowmeter (unit 3)
    answers its first word, the level probe (unit 7) has no register 3002 and answers exception 2."""
    settings = {"baud": 19200, "parity": "N"} if serial else {"baud": None, "parity": None}
    probe = {"table": "holding", "address": 3002, "count": 1, "function_code": 3}
    answers = [
        (3, "registers", None, [0x4148], "FC3 holding 3002: 0x4148"),
        (7, "exception", 2, [], "FC3 holding 3002: excepción 2 (dirección de registro inexistente)"),
    ]
    found = [
        {
            "unit_id": unit_id,
            "line": line,
            "endpoint": endpoint,
            **settings,
            "probe": probe,
            "answer": answer,
            "exception_code": code,
            "words": words,
            "how": how,
        }
        for unit_id, answer, code, words, how in answers
    ]
    return {"endpoint": endpoint, "tried": tried, "units": 8, "unusable": [], "found": found}


async def test_tcp_scan_finds_exactly_the_two_devices(invoke, clock):
    async with tcp_devices(clock) as port:
        result = await invoke(
            "scan", *over_tcp(port), "--units", "1-8", "--address", "3002", "--timeout", "0.1", "--json"
        )
    endpoint = f"127.0.0.1:{port}"
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == two_devices_found(
        endpoint, [f"tcp {endpoint}"], f"tcp {endpoint}", serial=False
    )


async def test_serial_scan_finds_the_devices_at_their_line_settings_only(invoke, clock):
    async with serial_devices(clock) as port:
        result = await invoke(
            "scan",
            "--port",
            port,
            "--baud",
            "9600,19200,38400",
            "--parity",
            "N",
            "--units",
            "1-8",
            "--address",
            "3002",
            "--table",
            "holding",
            "--timeout",
            "0.05",
            "--json",
        )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == two_devices_found(
        port, ["9600 8N1", "19200 8N1", "38400 8N1"], "19200 8N1", serial=True
    )


async def test_scan_table_for_a_person(invoke, clock):
    async with tcp_devices(clock) as port:
        result = await invoke("scan", *over_tcp(port), "--units", "3", "--address", "3002", "--timeout", "0.1")
    assert result.exit_code == 0, result.output
    assert "│ 3       │ tcp 127.0.0.1:" in result.stdout
    assert "FC3 holding 3002: 0x4148" in result.stdout


async def test_nothing_answering_exits_1_with_the_wiring_hint(invoke, clock):
    async with tcp_devices(clock) as port:
        result = await invoke("scan", *over_tcp(port), "--units", "1-2", "--timeout", "0.05")
    assert result.exit_code == 1
    assert "Ningún equipo respondió. Revise: A/B (D+/D-) no invertidos" in " ".join(result.stdout.split())


async def test_a_port_that_cannot_open_is_named(invoke):
    result = await invoke("scan", "--port", "/dev/ttyCAUDAL-MISSING", "--units", "1", "--baud", "9600", "--parity", "N")
    assert result.exit_code == 2
    assert "no se puede abrir /dev/ttyCAUDAL-MISSING" in result.stderr


@pytest.mark.parametrize(
    ("text", "units"),
    [("1-5", [1, 2, 3, 4, 5]), ("7", [7]), ("1-3,2,10", [1, 2, 3, 10]), ("247", [247]), (" 4 , 2 ", [4, 2])],
)
def test_parse_units(text, units):
    assert parse_units(text) == units


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0-5", "--units: '0-5' debe estar dentro de 1-247, de menor a mayor"),
        ("5-1", "--units: '5-1' debe estar dentro de 1-247, de menor a mayor"),
        ("1-248", "--units: '1-248' debe estar dentro de 1-247, de menor a mayor"),
        ("a", "--units: 'a' no es un unit id ni un rango como 1-247"),
        ("", "--units: indique al menos un unit id, por ejemplo 1-247"),
    ],
)
def test_parse_units_rejects(text, message):
    with pytest.raises(ValueError) as error:
        parse_units(text)
    assert str(error.value) == message


@pytest.mark.parametrize(
    ("parse", "text", "expected"),
    [(parse_baudrates, "9600,19200", [9600, 19200]), (parse_parities, "n,E,o", ["N", "E", "O"])],
)
def test_parse_line_settings(parse, text, expected):
    assert parse(text) == expected


async def test_bad_parity_is_refused_before_opening_anything(invoke):
    result = await invoke("scan", "--port", "/dev/null", "--parity", "X")
    assert result.exit_code == 2
    assert "--parity: 'X' debe listar N, E y/u O, por ejemplo N,E" in result.stderr
