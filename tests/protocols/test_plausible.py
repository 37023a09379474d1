"""Implausible values (a wrong byte order's 1e-41 or 1e+24) become ``out_of_range``, with the reason."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from protocols.plausible import Limits, implausibility, limits_for
from protocols.registers import Decoded, RegisterSpec, decode
from protocols.registerwords import encode_number
from protocols.uplink import Quality

LITTLE_12_5 = encode_number(12.5, "float32", "little")  # 12.5 L/s sent low word first


def spec(**fields: Any) -> RegisterSpec:
    return RegisterSpec.model_validate({"variable": "flow", "type": "float32", "unit": "L/s", "address": 0, **fields})


@pytest.mark.parametrize(
    ("fields", "words", "expected"),
    [
        ({}, encode_number(12.5, "float32"), Decoded(12.5, Quality.GOOD)),
        ({}, encode_number(0.0, "float32"), Decoded(0.0, Quality.GOOD)),
        (
            {},
            LITTLE_12_5,
            Decoded(
                None,
                Quality.OUT_OF_RANGE,
                "flow 2.34185e-41 L/s es distinto de cero y menor que lo que resuelve cualquier medidor",
            ),
        ),
        (
            {},
            encode_number(-1.26e-21, "float32"),
            Decoded(
                None,
                Quality.OUT_OF_RANGE,
                "flow -1.26e-21 L/s es distinto de cero y menor que lo que resuelve cualquier medidor",
            ),
        ),
        (
            {},
            encode_number(-1.26e-21, "float32")[::-1],
            Decoded(None, Quality.OUT_OF_RANGE, "flow 2.15918e+24 L/s está fuera del rango plausible -100..20000 L/s"),
        ),
        (
            {"unit": "m3/h"},
            encode_number(-720.0, "float32"),
            Decoded(None, Quality.OUT_OF_RANGE, "flow -200 L/s está fuera del rango plausible -100..20000 L/s"),
        ),
        (
            {"variable": "totalizer", "unit": "m3", "type": "int32"},
            encode_number(-5, "int32"),
            Decoded(None, Quality.OUT_OF_RANGE, "totalizer -5 m3 está fuera del rango plausible 0..1e+11 m3"),
        ),
        (
            {"max_value": 80.0},
            encode_number(95.0, "float32"),
            Decoded(None, Quality.OUT_OF_RANGE, "flow 95 L/s está fuera del rango plausible -100..80 L/s"),
        ),
        (
            {"min_value": 0.0},
            encode_number(-0.5, "float32"),
            Decoded(None, Quality.OUT_OF_RANGE, "flow -0.5 L/s está fuera del rango plausible 0..20000 L/s"),
        ),
        (
            {"variable": "conductivity", "unit": "uS/cm"},
            encode_number(3e30, "float32")[:2],
            Decoded(3e30, Quality.GOOD),
        ),
        (
            {"variable": "conductivity", "unit": "uS/cm", "max_value": 5000},
            encode_number(6000.0, "float32"),
            Decoded(
                None, Quality.OUT_OF_RANGE, "conductivity 6000 uS/cm está fuera del rango plausible -inf..5000 uS/cm"
            ),
        ),
    ],
)
def test_decode_flags_implausible_values(fields: dict[str, Any], words: list[int], expected: Decoded) -> None:
    decoded = decode(spec(**fields), words)
    assert (pytest.approx(decoded.value, rel=1e-6) if decoded.value is not None else None, *decoded[1:]) == expected


@pytest.mark.parametrize(
    ("variable", "low", "high", "expected"),
    [
        ("flow", None, None, Limits(-100.0, 20_000.0)),
        ("flow", 0.0, None, Limits(0.0, 20_000.0)),
        ("level", None, 120.0, Limits(-50.0, 120.0)),
        ("conductivity", None, None, None),
        ("conductivity", 0.0, None, Limits(0.0, float("inf"))),
    ],
)
def test_limits_are_the_registers_ends_else_the_variables_default(variable, low, high, expected) -> None:
    assert limits_for(variable, low, high) == expected


def test_a_value_inside_its_range_is_plausible() -> None:
    assert implausibility("level", 12.25, "m", Limits(-50.0, 3000.0)) is None


def test_min_value_must_lie_below_max_value() -> None:
    with pytest.raises(ValidationError, match="min_value 10 debe ser menor que max_value 5"):
        spec(min_value=10, max_value=5)
