"""Unit conversion to canonical units: known factors, spellings, and refusals."""

from __future__ import annotations

import pytest

from protocols.units import (
    CANONICAL_UNITS,
    UnknownUnitError,
    canonical_unit,
    converter,
    normalize_unit,
    to_canonical,
)


@pytest.mark.parametrize(
    ("variable", "value", "unit", "expected"),
    [
        ("flow", 1.0, "L/s", 1.0),
        ("flow", 1.0, "m3/h", 0.2777777777777778),
        ("flow", 36.0, "m3/h", 10.0),
        ("flow", 0.012, "m3/s", 12.0),
        ("flow", 60.0, "L/min", 1.0),
        ("flow", 3600.0, "L/h", 1.0),
        ("flow", 86.4, "m3/d", 1.0),
        ("flow", 100.0, "gpm", 6.30901964),
        ("totalizer", 1.0, "m3", 1.0),
        ("totalizer", 1500.0, "L", 1.5),
        ("totalizer", 2.5e9, "mm3", 2.5),
        ("totalizer", 1000.0, "gal", 3.785411784),
        ("level", 12.5, "m", 12.5),
        ("level", 250.0, "cm", 2.5),
        ("level", 1234.0, "mm", 1.234),
        ("level", 1.0, "bar", 10.197162129779283),
        ("level", 100.0, "mbar", 1.0197162129779282),
        ("level", 9.80665, "kPa", 1.0),
        ("level", 9806.65, "Pa", 1.0),
        ("level", 1.0, "psi", 0.7030695796391089),
        ("water_table", 3.0, "mH2O", 3.0),
        ("water_table", 0.5, "bar", 5.098581064889641),
    ],
)
def test_known_conversions(variable: str, value: float, unit: str, expected: float) -> None:
    assert to_canonical(variable, value, unit) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("m³/h", "m3/h"),
        ("M3/H", "m3/h"),
        ("m3/hr", "m3/h"),
        ("l/s", "L/s"),
        ("L/S", "L/s"),
        ("lps", "L/s"),
        ("LPM", "L/min"),
        (" m³ ", "m3"),
        ("US gpm", "gpm"),
        ("US gal", "gal"),
        ("MBAR", "mbar"),
        ("kpa", "kPa"),
        ("m H2O", "mH2O"),
        ("mca", "mH2O"),
        ("°C", "°C"),
        (" pH ", "pH"),
    ],
)
def test_normalize_unit(text: str, expected: str) -> None:
    assert normalize_unit(text) == expected


def test_canonical_units_table_matches_design() -> None:
    assert dict(CANONICAL_UNITS) == {"flow": "L/s", "totalizer": "m3", "level": "m", "water_table": "m"}


@pytest.mark.parametrize(
    ("variable", "unit", "expected"),
    [
        pytest.param("flow", "m³/h", "L/s", id="flow read in m³/h is stored in L/s"),
        pytest.param("totalizer", "mm3", "m3", id="a totalizer read in mm3 is stored in m3"),
        pytest.param("level", "bar", "m", id="a level read as a pressure is stored in metres"),
        pytest.param("ph", "pH", "pH", id="ph keeps its own unit"),
        pytest.param("temperature", "°C", "°C", id="temperature keeps its own unit"),
    ],
)
def test_canonical_unit(variable: str, unit: str, expected: str) -> None:
    assert canonical_unit(variable, unit) == expected


FLOW_UNITS = "L/s, L/min, L/h, m3/s, m3/h, m3/d, gpm"


@pytest.mark.parametrize(
    ("variable", "unit", "accepted"),
    [
        pytest.param("flow", "m3", FLOW_UNITS, id="a volume for a flow"),
        pytest.param("flow", "furlongs", FLOW_UNITS, id="a unit no meter uses"),
        pytest.param("totalizer", "m3/h", "m3, L, mm3, gal", id="a flow for a totalizer"),
        pytest.param("level", "L/s", "m, cm, mm, mH2O, Pa, kPa, mbar, bar, psi", id="a flow for a level"),
    ],
)
def test_unknown_unit_names_unit_variable_and_accepted(variable: str, unit: str, accepted: str) -> None:
    with pytest.raises(UnknownUnitError) as raised:
        converter(variable, unit)
    assert str(raised.value) == f"unidad desconocida {unit!r} para la variable {variable!r}; se aceptan: {accepted}"


def test_other_variables_pass_through_unchanged() -> None:
    assert to_canonical("conductivity", 812.5, "µS/cm") == 812.5


def test_converter_applies_precomputed_factor() -> None:
    to_lps = converter("flow", "m3/h")
    assert [to_lps(v) for v in (0.0, 3.6, 36.0)] == pytest.approx([0.0, 1.0, 10.0])
