"""``caudal edge read``: the words in hex and every interpretation, so the meter's display can be matched."""

from __future__ import annotations

import json

import pytest

from edge.commission import byte_layout
from protocols.registerwords import DataType, Interpretation, WordOrder
from tests.edge.commission.devices import serial_devices, tcp_devices

# 12.5 as float32 is 0x41480000: the meter at unit 3 holds it high word first.
EXPECTED_12_5 = {
    "unit_id": 3,
    "table": "holding",
    "address": 3002,
    "count": 2,
    "words": [0x4148, 0x0000],
    "hex": ["0x4148", "0x0000"],
    "interpretations": [
        {"type": "int16", "word_order": "big", "byte_swap": False, "layout": "AB", "value": 16712},
        {"type": "int16", "word_order": "big", "byte_swap": True, "layout": "BA", "value": 18497},
        {"type": "uint16", "word_order": "big", "byte_swap": False, "layout": "AB", "value": 16712},
        {"type": "uint16", "word_order": "big", "byte_swap": True, "layout": "BA", "value": 18497},
        {"type": "int32", "word_order": "big", "byte_swap": False, "layout": "ABCD", "value": 1095237632},
        {"type": "int32", "word_order": "big", "byte_swap": True, "layout": "BADC", "value": 1212219392},
        {"type": "int32", "word_order": "little", "byte_swap": False, "layout": "CDAB", "value": 16712},
        {"type": "int32", "word_order": "little", "byte_swap": True, "layout": "DCBA", "value": 18497},
        {"type": "uint32", "word_order": "big", "byte_swap": False, "layout": "ABCD", "value": 1095237632},
        {"type": "uint32", "word_order": "big", "byte_swap": True, "layout": "BADC", "value": 1212219392},
        {"type": "uint32", "word_order": "little", "byte_swap": False, "layout": "CDAB", "value": 16712},
        {"type": "uint32", "word_order": "little", "byte_swap": True, "layout": "DCBA", "value": 18497},
        {"type": "float32", "word_order": "big", "byte_swap": False, "layout": "ABCD", "value": 12.5},
        {"type": "float32", "word_order": "big", "byte_swap": True, "layout": "BADC", "value": 197632.0},
        {
            "type": "float32",
            "word_order": "little",
            "byte_swap": False,
            "layout": "CDAB",
            "value": 2.3418499935796343e-41,
        },
        {
            "type": "float32",
            "word_order": "little",
            "byte_swap": True,
            "layout": "DCBA",
            "value": 2.591981769461614e-41,
        },
    ],
}


async def test_read_json_over_tcp(invoke, clock):
    async with tcp_devices(clock) as port:
        result = await invoke(
            "read", "--host", "127.0.0.1", "--tcp-port", str(port), "--unit", "3", "3002", "2", "--json"
        )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == EXPECTED_12_5


async def test_read_json_over_serial(invoke, clock):
    async with serial_devices(clock) as port:
        result = await invoke("read", "--port", port, "--baud", "19200", "--unit", "3", "3002", "2", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == EXPECTED_12_5


async def test_read_table_shows_hex_and_the_matching_float(invoke, clock):
    async with tcp_devices(clock) as port:
        result = await invoke("read", "--host", "127.0.0.1", "--tcp-port", str(port), "--unit", "3", "3002", "2")
    assert result.exit_code == 0, result.output
    rows = [" ".join(line.split()) for line in result.stdout.splitlines()]
    assert rows[:2] == [f"unit id 3 holding @ tcp 127.0.0.1:{port}", "┏━━━━━━━━━━━┳━━━━━━━━┳━━━━━━━━┳━━━━━━━┓"]
    assert "┃ dirección ┃ hex ┃ uint16 ┃ int16 ┃" in rows
    assert "│ 3002 │ 0x4148 │ 16712 │ 16712 │" in rows
    assert "valor desde el primer registro, por tipo y orden" in rows
    assert "┃ type ┃ bytes ┃ word_order ┃ byte_swap ┃ valor ┃" in rows
    assert "│ float32 │ ABCD │ big │ false │ 12.5 │" in rows


async def test_an_exception_reply_is_reported_not_a_number(invoke, clock):
    async with tcp_devices(clock) as port:
        result = await invoke("read", "--host", "127.0.0.1", "--tcp-port", str(port), "--unit", "7", "0", "2")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "unit id 7 respondió la excepción 2 (dirección de registro inexistente)" in result.stderr


async def test_a_silent_unit_times_out(invoke, clock):
    async with tcp_devices(clock) as port:
        result = await invoke(
            "read", "--host", "127.0.0.1", "--tcp-port", str(port), "--unit", "5", "--timeout", "0.1", "0", "1"
        )
    assert result.exit_code == 1
    assert "unit id 5 no respondió en 0.1 s" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["0", "126"], "cantidad 126: deben ser 1..125 registros"),
        (["65535", "2"], "dirección 65535 + cantidad 2 pasa del último registro (65535)"),
        (
            ["70000", "1"],
            "dirección 70000: debe ser una dirección de cable 0..65535 (el 40001 del manual es la dirección 0)",
        ),
    ],
)
async def test_bad_read_requests_are_refused_before_the_wire(invoke, args, message):
    result = await invoke("read", "--host", "127.0.0.1", "--tcp-port", "1", *args)
    assert result.exit_code == 2
    assert message in result.stderr


@pytest.mark.parametrize(
    ("data_type", "word_order", "byte_swap", "layout"),
    [
        (DataType.UINT16, WordOrder.BIG, False, "AB"),
        (DataType.UINT16, WordOrder.BIG, True, "BA"),
        (DataType.FLOAT32, WordOrder.BIG, False, "ABCD"),
        (DataType.FLOAT32, WordOrder.LITTLE, False, "CDAB"),
        (DataType.FLOAT32, WordOrder.BIG, True, "BADC"),
        (DataType.FLOAT32, WordOrder.LITTLE, True, "DCBA"),
        (DataType.FLOAT64, WordOrder.LITTLE, False, "GHEFCDAB"),
        (DataType.UINT64, WordOrder.BIG, True, "BADCFEHG"),
    ],
)
def test_byte_layout_names_the_wire_order(data_type, word_order, byte_swap, layout):
    assert byte_layout(Interpretation(data_type, word_order, byte_swap, None)) == layout
