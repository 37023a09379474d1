"""Register words <-> numbers: every type, word order and byte swap; known vectors; refusals."""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.registers import Decoded, RegisterSpec, decode
from protocols.registerwords import DataType, DecodeError, WordOrder, decode_number, encode_number, register_count
from protocols.uplink import Quality

ORDERS = [(order, swap) for order in WordOrder for swap in (False, True)]

INTEGER_RANGES = {
    DataType.INT16: (-(2**15), 2**15 - 1),
    DataType.UINT16: (0, 2**16 - 1),
    DataType.INT32: (-(2**31), 2**31 - 1),
    DataType.UINT32: (0, 2**32 - 1),
    DataType.INT64: (-(2**63), 2**63 - 1),
    DataType.UINT64: (0, 2**64 - 1),
}

SAMPLES = {
    DataType.INT16: [-32768, -2, 0, 1, 32767],
    DataType.UINT16: [0, 1, 0x1234, 65535],
    DataType.INT32: [-(2**31), -2, 0, 123456, 2**31 - 1],
    DataType.UINT32: [0, 1, 0x12345678, 2**32 - 1],
    DataType.INT64: [-(2**63), -2, 0, 2**53 + 1, 2**63 - 1],
    DataType.UINT64: [0, 1, 2**53 + 1, 0x0123456789ABCDEF, 2**64 - 1],
    DataType.FLOAT32: [0.0, -0.0, 12.5, -0.0078125, 3.4028234663852886e38],
    DataType.FLOAT64: [0.0, 12.345678901234, -9.87e-300, 1.7976931348623157e308],
}


@pytest.mark.parametrize(
    ("data_type", "count"),
    [
        ("int16", 1),
        ("uint16", 1),
        ("int32", 2),
        ("uint32", 2),
        ("int64", 4),
        ("uint64", 4),
        ("float32", 2),
        ("float64", 4),
    ],
)
def test_register_count(data_type: str, count: int) -> None:
    assert register_count(DataType(data_type)) == count


@pytest.mark.parametrize(("word_order", "byte_swap"), ORDERS)
@pytest.mark.parametrize(
    ("data_type", "value"), [(data_type, value) for data_type, values in SAMPLES.items() for value in values]
)
def test_round_trip_every_type_and_order(
    data_type: DataType, value: float, word_order: WordOrder, byte_swap: bool
) -> None:
    words = encode_number(value, data_type, word_order, byte_swap)
    assert len(words) == register_count(data_type)
    assert decode_number(words, data_type, word_order, byte_swap) == value


@pytest.mark.parametrize(("word_order", "byte_swap"), ORDERS)
@pytest.mark.parametrize("data_type", list(INTEGER_RANGES))
@given(data=st.data())
def test_integer_round_trip_property(data, data_type: DataType, word_order: WordOrder, byte_swap: bool) -> None:
    low, high = INTEGER_RANGES[data_type]
    value = data.draw(st.integers(low, high))
    assert (
        decode_number(encode_number(value, data_type, word_order, byte_swap), data_type, word_order, byte_swap) == value
    )


@pytest.mark.parametrize(("word_order", "byte_swap"), ORDERS)
@given(value=st.floats(allow_nan=False, allow_infinity=False, width=32))
def test_float32_round_trip_property(value: float, word_order: WordOrder, byte_swap: bool) -> None:
    words = encode_number(value, DataType.FLOAT32, word_order, byte_swap)
    assert decode_number(words, DataType.FLOAT32, word_order, byte_swap) == value


@pytest.mark.parametrize(("word_order", "byte_swap"), ORDERS)
@given(value=st.floats(allow_nan=False, allow_infinity=False))
def test_float64_round_trip_property(value: float, word_order: WordOrder, byte_swap: bool) -> None:
    words = encode_number(value, DataType.FLOAT64, word_order, byte_swap)
    assert decode_number(words, DataType.FLOAT64, word_order, byte_swap) == value


@pytest.mark.parametrize(
    ("name", "data_type", "word_order", "byte_swap", "words", "value"),
    [
        ("ABCD", "float32", "big", False, [0x4148, 0x0000], 12.5),
        ("CDAB", "float32", "little", False, [0x0000, 0x4148], 12.5),
        ("BADC", "float32", "big", True, [0x4841, 0x0000], 12.5),
        ("DCBA", "float32", "little", True, [0x0000, 0x4841], 12.5),
        ("int32 -2 big", "int32", "big", False, [0xFFFF, 0xFFFE], -2),
        ("int32 -2 little", "int32", "little", False, [0xFFFE, 0xFFFF], -2),
        ("int16 -1", "int16", "big", False, [0xFFFF], -1),
        ("uint16 swapped", "uint16", "big", True, [0x3412], 0x1234),
        ("uint64 max", "uint64", "big", False, [0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF], 2**64 - 1),
        ("uint64 big", "uint64", "big", False, [0x0123, 0x4567, 0x89AB, 0xCDEF], 0x0123456789ABCDEF),
        ("uint64 little", "uint64", "little", False, [0xCDEF, 0x89AB, 0x4567, 0x0123], 0x0123456789ABCDEF),
        ("uint64 2^53+1 exact", "uint64", "big", False, [0x0020, 0x0000, 0x0000, 0x0001], 2**53 + 1),
        ("float64 1.0", "float64", "big", False, [0x3FF0, 0, 0, 0], 1.0),
        ("float64 1.0 little", "float64", "little", False, [0, 0, 0, 0x3FF0], 1.0),
    ],
)
def test_known_vectors(
    name: str, data_type: str, word_order: str, byte_swap: bool, words: list[int], value: float
) -> None:
    assert decode_number(words, DataType(data_type), WordOrder(word_order), byte_swap) == value
    assert encode_number(value, DataType(data_type), WordOrder(word_order), byte_swap) == words


@pytest.mark.parametrize(
    ("words", "data_type", "message"),
    [
        ([0x4148], "float32", "float32 necesita 2 registro(s), se recibieron 1"),
        ([0x4148, 0, 0], "float32", "float32 necesita 2 registro(s), se recibieron 3"),
        ([], "int16", "int16 necesita 1 registro(s), se recibieron 0"),
        ([0x10000], "uint16", "el valor de registro 65536 no es una palabra de 16 bits"),
        ([-1, 0], "int32", "el valor de registro -1 no es una palabra de 16 bits"),
        ([0x7FC0, 0x0000], "float32", "float32 vale nan (el equipo indica que no tiene un valor válido)"),
        ([0x7F80, 0x0000], "float32", "float32 vale inf (el equipo indica que no tiene un valor válido)"),
        ([0xFF80, 0x0000], "float32", "float32 vale -inf (el equipo indica que no tiene un valor válido)"),
        ([0x7FF8, 0, 0, 0], "float64", "float64 vale nan (el equipo indica que no tiene un valor válido)"),
    ],
)
def test_decode_refuses(words: list[int], data_type: str, message: str) -> None:
    with pytest.raises(DecodeError) as raised:
        decode_number(words, DataType(data_type))
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("value", "data_type", "message"),
    [
        (40000, "int16", "40000 no cabe en int16"),
        (-1, "uint16", "-1 no cabe en uint16"),
        (2**32, "uint32", "4294967296 no cabe en uint32"),
        (2**64, "uint64", "18446744073709551616 no cabe en uint64"),
        (1.5, "int32", "int32 no admite la fracción 1.5"),
        (1e39, "float32", "1e+39 no cabe en float32"),
    ],
)
def test_encode_refuses_out_of_range(value: float, data_type: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        encode_number(value, DataType(data_type))
    assert str(raised.value) == message


def test_encode_accepts_whole_floats_for_integer_types() -> None:
    assert encode_number(70000.0, DataType.UINT32) == [0x0001, 0x1170]


@pytest.mark.parametrize(("data_type", "count"), [(DataType.FLOAT32, 2), (DataType.FLOAT64, 4)])
def test_encode_nan_for_floats(data_type: DataType, count: int) -> None:
    words = encode_number(math.nan, data_type)
    (value,) = struct.unpack(">f" if count == 2 else ">d", struct.pack(f">{count}H", *words))
    assert math.isnan(value)


@pytest.mark.parametrize(
    ("data_type", "word_order", "byte_swap", "words", "expected"),
    [
        ("float32", "big", False, [0x4148, 0x0000], Decoded(12.5, Quality.GOOD)),
        ("float32", "little", False, [0x0000, 0x4148], Decoded(12.5, Quality.GOOD)),
        ("float32", "big", True, [0x4841, 0x0000], Decoded(12.5, Quality.GOOD)),
        ("float32", "little", True, [0x0000, 0x4841], Decoded(12.5, Quality.GOOD)),
        ("int32", "little", False, [0xFFFE, 0xFFFF], Decoded(-2.0, Quality.GOOD)),
        ("uint64", "big", False, [0x0020, 0x0000, 0x0000, 0x0001], Decoded(float(2**53 + 1), Quality.GOOD)),
        (
            "float32",
            "big",
            False,
            [0x4148],
            Decoded(None, Quality.DECODE_ERROR, "raw: float32 necesita 2 registro(s), se recibieron 1"),
        ),
        (
            "uint16",
            "big",
            True,
            [0x10000],
            Decoded(None, Quality.DECODE_ERROR, "raw: el valor de registro 65536 no es una palabra de 16 bits"),
        ),
        (
            "int32",
            "little",
            True,
            [-1, 0],
            Decoded(None, Quality.DECODE_ERROR, "raw: el valor de registro -1 no es una palabra de 16 bits"),
        ),
        (
            "float32",
            "big",
            False,
            [1.0, 0],
            Decoded(None, Quality.DECODE_ERROR, "raw: el valor de registro 1.0 no es una palabra de 16 bits"),
        ),
        (
            "float32",
            "little",
            False,
            [0x0000, 0x7FC0],
            Decoded(
                None, Quality.DECODE_ERROR, "raw: float32 vale nan (el equipo indica que no tiene un valor válido)"
            ),
        ),
        (
            "float64",
            "big",
            False,
            [0x8000, 0, 0, 1],
            Decoded(
                None,
                Quality.OUT_OF_RANGE,
                "raw -4.94066e-324 x es distinto de cero y menor que lo que resuelve cualquier medidor",
            ),
        ),
    ],
)
def test_a_specs_decoder_reads_words_as_decode_number_does(
    data_type: str, word_order: str, byte_swap: bool, words: list, expected: Decoded
) -> None:
    spec = RegisterSpec(variable="raw", address=0, type=data_type, word_order=word_order, byte_swap=byte_swap, unit="x")
    assert (spec.decoder(words), decode(spec, words)) == (expected, expected)
