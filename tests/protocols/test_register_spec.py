"""RegisterSpec validation, manual addresses, decode_reading, loop scaling and interpretations."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from protocols.registers import LoopScaling, RegisterSpec, Table, decode_reading, encode_reading
from protocols.registerwords import DataType, Interpretation, WordOrder, interpretations
from protocols.uplink import Quality


def spec(**fields: Any) -> RegisterSpec:
    base = {"variable": "flow", "type": "float32", "unit": "L/s"}
    if "manual_address" not in fields:
        base["address"] = 0
    return RegisterSpec.model_validate({**base, **fields})


def first_error(fields: dict[str, Any]) -> tuple[tuple, str]:
    with pytest.raises(ValidationError) as raised:
        spec(**fields)
    error = raised.value.errors()[0]
    return error["loc"], error["msg"]


@pytest.mark.parametrize(
    ("manual", "table", "address"),
    [
        (40001, Table.HOLDING, 0),
        (43003, Table.HOLDING, 3002),
        (49999, Table.HOLDING, 9998),
        (400001, Table.HOLDING, 0),
        (412003, Table.HOLDING, 12002),
        (465535, Table.HOLDING, 65534),
        (30001, Table.INPUT, 0),
        (35017, Table.INPUT, 5016),
        (300003, Table.INPUT, 2),
    ],
)
def test_manual_address_is_converted_and_noted(manual: int, table: Table, address: int) -> None:
    converted = RegisterSpec(variable="flow", manual_address=manual, type="float32", unit="L/s")
    assert (converted.table, converted.address) == (table, address)
    assert converted.converted_from == f"manual {manual} -> {table.value} {address}"


def test_manual_note_is_not_part_of_the_config_dump() -> None:
    converted = RegisterSpec(variable="flow", manual_address=43003, type="float32", unit="L/s")
    assert RegisterSpec.model_validate(converted.model_dump()) == converted.model_copy(update={"converted_from": None})


@pytest.mark.parametrize(
    ("fields", "loc", "message"),
    [
        (
            {"manual_address": 10001},
            (),
            "Value error, manual_address 10001 no es un número de registro 3xxxx/4xxxx (o 3xxxxx/4xxxxx); "
            "indique en su lugar table y address (contada desde 0)",
        ),
        (
            {"manual_address": 40001, "table": "input"},
            (),
            "Value error, indique manual_address o table+address, no ambos",
        ),
        (
            {"address": 65533, "type": "float64"},
            (),
            "Value error, float64 en address 65533 necesita registros hasta el 65536, más allá de la última dirección"
            " 65535",
        ),
        ({"address": 65536}, ("address",), "Input should be less than or equal to 65535"),
        ({"address": -1}, ("address",), "Input should be greater than or equal to 0"),
        (
            {"type": "float16"},
            ("type",),
            "Input should be 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'float32' or 'float64'",
        ),
        ({"word_order": "CDAB"}, ("word_order",), "Input should be 'big' or 'little'"),
        ({"table": "coil"}, ("table",), "Input should be 'holding' or 'input'"),
        ({"variable": "Flow"}, ("variable",), "String should match pattern '^[a-z][a-z0-9_]*$'"),
        ({"scale": 0}, (), "Value error, scale 0 convertiría cada lectura en el offset"),
        ({"scale": float("nan")}, ("scale",), "Value error, debe ser un número finito"),
        ({"adress": 3}, ("adress",), "Extra inputs are not permitted"),
        (
            {"unit": "m3"},
            ("unit",),
            "Value error, unidad desconocida 'm3' para la variable 'flow'; se aceptan: L/s, L/min, L/h, m3/s, m3/h,"
            " m3/d, gpm",
        ),
        (
            {"variable": "level", "unit": "psig"},
            ("unit",),
            "Value error, unidad desconocida 'psig' para la variable 'level'; se aceptan: m, cm, mm, mH2O, Pa, kPa,"
            " mbar, bar, psi",
        ),
        (
            {"loop": {"low": 5, "high": 5}},
            ("loop",),
            "Value error, low y high del loop valen ambos 5: el rango no puede quedar vacío",
        ),
        (
            {"loop": {"low": 0, "high": 5, "fault_below_ma": 4.5}},
            ("loop", "fault_below_ma"),
            "Input should be less than or equal to 4",
        ),
    ],
)
def test_invalid_spec_names_field_and_reason(fields: dict[str, Any], loc: tuple, message: str) -> None:
    assert first_error(fields) == (loc, message)


def test_fits_at_the_last_address() -> None:
    assert spec(address=65532, type="float64").count == 4


@pytest.mark.parametrize(
    ("fields", "unit", "canonical"),
    [
        ({"unit": "m³/h"}, "m3/h", "L/s"),
        ({"variable": "totalizer", "unit": "MM3"}, "mm3", "m3"),
        ({"variable": "level", "unit": "bar"}, "bar", "m"),
        ({"variable": "ph", "unit": "pH"}, "pH", "pH"),
    ],
)
def test_unit_is_normalized_and_canonical_unit_known(fields: dict[str, Any], unit: str, canonical: str) -> None:
    declared = spec(**fields)
    assert (declared.unit, declared.canonical_unit) == (unit, canonical)


MICROAMP_LEVEL = {
    "variable": "level",
    "type": "uint16",
    "scale": 0.001,
    "unit": "m",
    "loop": {"low": 0, "high": 50},
}


@pytest.mark.parametrize(
    ("fields", "words", "expected"),
    [
        ({"unit": "m3/h"}, [0x4210, 0x0000], (10.0, Quality.GOOD)),
        ({"unit": "m3/s", "word_order": "little"}, [0x0000, 0x4148], (12500.0, Quality.GOOD)),
        (
            {"variable": "totalizer", "type": "uint64", "word_order": "little", "unit": "mm3"},
            [0xD200, 0x6B49, 0, 0],
            (1.8, Quality.GOOD),
        ),
        (
            {"variable": "totalizer", "type": "uint32", "unit": "m3", "scale": 0.1},
            [0x0001, 0x0000],
            (6553.6, Quality.GOOD),
        ),
        ({"variable": "level", "type": "float32", "unit": "bar"}, [0x3F80, 0x0000], (10.197162129779283, Quality.GOOD)),
        ({"variable": "level", "type": "int16", "unit": "cm", "offset": -100}, [0x0064], (0.0, Quality.GOOD)),
        ({"variable": "ph", "type": "uint16", "unit": "pH", "scale": 0.01}, [712], (7.12, Quality.GOOD)),
        ({}, [0x7FC0, 0x0000], (None, Quality.DECODE_ERROR)),
        ({}, [0x7F80, 0x0000], (None, Quality.DECODE_ERROR)),
        ({}, [0x4148], (None, Quality.DECODE_ERROR)),
        ({}, [], (None, Quality.DECODE_ERROR)),
        ({}, [0x4148, 0x10000], (None, Quality.DECODE_ERROR)),
        ({"type": "float64", "scale": 10.0}, [0x7FEF, 0xFFFF, 0xFFFF, 0xFFFF], (None, Quality.DECODE_ERROR)),
        (MICROAMP_LEVEL, [4000], (0.0, Quality.GOOD)),
        (MICROAMP_LEVEL, [12000], (25.0, Quality.GOOD)),
        (MICROAMP_LEVEL, [20000], (50.0, Quality.GOOD)),
        (MICROAMP_LEVEL, [3800], (-0.625, Quality.GOOD)),
        (MICROAMP_LEVEL, [20500], (51.5625, Quality.GOOD)),
        (MICROAMP_LEVEL, [3799], (None, Quality.OUT_OF_RANGE)),
        (MICROAMP_LEVEL, [0], (None, Quality.OUT_OF_RANGE)),
        (MICROAMP_LEVEL, [20501], (None, Quality.OUT_OF_RANGE)),
        ({**MICROAMP_LEVEL, "loop": {"low": 0, "high": 10, "fault_below_ma": 3.6}}, [3700], (-0.1875, Quality.GOOD)),
        ({**MICROAMP_LEVEL, "unit": "bar", "loop": {"low": 0, "high": 1}}, [20000], (10.197162129779283, Quality.GOOD)),
    ],
)
def test_decode_reading(fields: dict[str, Any], words: list[int], expected: tuple[float | None, Quality]) -> None:
    value, quality = decode_reading(spec(**fields), words)
    assert (pytest.approx(value) if value is not None else None, quality) == expected


SPECS = [
    spec(),
    spec(type="float64", unit="m3/h"),
    spec(variable="level", type="uint16", scale=0.001, unit="m", loop={"low": 0, "high": 50}),
    spec(variable="totalizer", type="int64", unit="L", word_order="little", byte_swap=True),
    spec(variable="level", type="int16", unit="cm", scale=1e300),
]


@pytest.mark.parametrize("register", SPECS, ids=lambda s: f"{s.variable}-{s.type}")
@given(words=st.lists(st.integers(-(2**20), 2**20), max_size=6))
def test_decode_reading_never_raises(register: RegisterSpec, words: list[int]) -> None:
    value, quality = decode_reading(register, words)
    assert (value is not None) == quality.has_value


@pytest.mark.parametrize(
    ("fields", "value"),
    [
        ({"unit": "m3/h"}, 12.5),
        ({"variable": "totalizer", "type": "uint64", "word_order": "little", "unit": "mm3"}, 123456.789),
        ({"variable": "totalizer", "type": "float64", "unit": "m3"}, 98765.4321),
        ({"variable": "level", "type": "float32", "unit": "bar", "byte_swap": True}, 31.25),
        (MICROAMP_LEVEL, 25.0),
    ],
)
def test_encode_reading_is_inverse_of_decode_reading(fields: dict[str, Any], value: float) -> None:
    register = spec(**fields)
    assert decode_reading(register, encode_reading(register, value)) == (pytest.approx(value, rel=1e-6), Quality.GOOD)


def test_loop_engineering_value() -> None:
    loop = LoopScaling(low=100, high=0)
    assert [loop.engineering(ma) for ma in (3.0, 4.0, 12.0, 20.0, 21.0)] == [None, 100.0, 50.0, 0.0, None]


def test_interpretations_of_two_words() -> None:
    found = interpretations([0x4148, 0x0000])
    assert found == [
        Interpretation(DataType.INT16, WordOrder.BIG, False, 0x4148),
        Interpretation(DataType.INT16, WordOrder.BIG, True, 0x4841),
        Interpretation(DataType.UINT16, WordOrder.BIG, False, 0x4148),
        Interpretation(DataType.UINT16, WordOrder.BIG, True, 0x4841),
        Interpretation(DataType.INT32, WordOrder.BIG, False, 0x41480000),
        Interpretation(DataType.INT32, WordOrder.BIG, True, 0x48410000),
        Interpretation(DataType.INT32, WordOrder.LITTLE, False, 0x4148),
        Interpretation(DataType.INT32, WordOrder.LITTLE, True, 0x4841),
        Interpretation(DataType.UINT32, WordOrder.BIG, False, 0x41480000),
        Interpretation(DataType.UINT32, WordOrder.BIG, True, 0x48410000),
        Interpretation(DataType.UINT32, WordOrder.LITTLE, False, 0x4148),
        Interpretation(DataType.UINT32, WordOrder.LITTLE, True, 0x4841),
        Interpretation(DataType.FLOAT32, WordOrder.BIG, False, 12.5),
        Interpretation(DataType.FLOAT32, WordOrder.BIG, True, 197632.0),
        Interpretation(DataType.FLOAT32, WordOrder.LITTLE, False, pytest.approx(2.3490e-41, rel=1e-3)),
        Interpretation(DataType.FLOAT32, WordOrder.LITTLE, True, pytest.approx(2.5901e-41, rel=1e-3)),
    ]


def test_interpretations_mark_undecodable_as_none() -> None:
    found = interpretations([0x7FC0, 0x0000])
    assert [(i.word_order, i.byte_swap, i.value) for i in found if i.data_type == DataType.FLOAT32] == [
        (WordOrder.BIG, False, None),
        (WordOrder.BIG, True, -3.984375),
        (WordOrder.LITTLE, False, pytest.approx(4.5828e-41, rel=1e-4)),
        (WordOrder.LITTLE, True, pytest.approx(6.9055e-41, rel=1e-4)),
    ]


@pytest.mark.parametrize(("count", "listed"), [(0, 0), (1, 4), (2, 16), (3, 16), (4, 28)])
def test_interpretations_list_every_type_that_fits(count: int, listed: int) -> None:
    assert len(interpretations([1] * count)) == listed
