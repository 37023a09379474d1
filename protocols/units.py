"""Unit conversion of source readings to Caudal's canonical units.

Meters report flow in whatever the technician set on the display (m³/h, L/s, m³/s...), and a
wrong unit is the classic error of Chilean control centers (m³/h declared as L/s reads 3.6×
too high). So the unit is declared in config, converted here at the edge, and a unit this
module does not know is a config error for canonical variables, never a silent pass-through.
Pressure sensors measuring a water column are accepted for levels, as metres of water
(1 m H2O = 9806.65 Pa, the conventional standard).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from types import MappingProxyType

PASCAL_PER_METRE_WATER = 9806.65
LITRES_PER_US_GALLON = 3.785411784
PASCAL_PER_PSI = 6894.757293168


class Dimension(StrEnum):
    FLOW = "flow"  # canonical L/s
    VOLUME = "volume"  # canonical m3
    LENGTH = "length"  # canonical m


CANONICAL_UNITS: Mapping[str, str] = MappingProxyType(
    {"flow": "L/s", "totalizer": "m3", "level": "m", "water_table": "m"}
)

VARIABLE_DIMENSIONS: Mapping[str, Dimension] = MappingProxyType(
    {
        "flow": Dimension.FLOW,
        "totalizer": Dimension.VOLUME,
        "level": Dimension.LENGTH,
        "water_table": Dimension.LENGTH,
    }
)

# unit spelling -> (dimension, factor to the dimension's canonical unit)
_UNITS: Mapping[str, tuple[Dimension, float]] = MappingProxyType(
    {
        "L/s": (Dimension.FLOW, 1.0),
        "L/min": (Dimension.FLOW, 1.0 / 60.0),
        "L/h": (Dimension.FLOW, 1.0 / 3600.0),
        "m3/s": (Dimension.FLOW, 1000.0),
        "m3/h": (Dimension.FLOW, 1000.0 / 3600.0),
        "m3/d": (Dimension.FLOW, 1000.0 / 86400.0),
        "gpm": (Dimension.FLOW, LITRES_PER_US_GALLON / 60.0),
        "m3": (Dimension.VOLUME, 1.0),
        "L": (Dimension.VOLUME, 1e-3),
        "mm3": (Dimension.VOLUME, 1e-9),
        "gal": (Dimension.VOLUME, LITRES_PER_US_GALLON / 1000.0),
        "m": (Dimension.LENGTH, 1.0),
        "cm": (Dimension.LENGTH, 1e-2),
        "mm": (Dimension.LENGTH, 1e-3),
        "mH2O": (Dimension.LENGTH, 1.0),
        "Pa": (Dimension.LENGTH, 1.0 / PASCAL_PER_METRE_WATER),
        "kPa": (Dimension.LENGTH, 1e3 / PASCAL_PER_METRE_WATER),
        "mbar": (Dimension.LENGTH, 1e2 / PASCAL_PER_METRE_WATER),
        "bar": (Dimension.LENGTH, 1e5 / PASCAL_PER_METRE_WATER),
        "psi": (Dimension.LENGTH, PASCAL_PER_PSI / PASCAL_PER_METRE_WATER),
    }
)

# Accepted spellings, after lower-casing and removing blanks and superscripts.
_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        **{spelling.lower(): spelling for spelling in _UNITS},
        "lps": "L/s",
        "l/sec": "L/s",
        "lpm": "L/min",
        "l/hr": "L/h",
        "m3/hr": "m3/h",
        "cmh": "m3/h",
        "m3/sec": "m3/s",
        "m3/day": "m3/d",
        "usgpm": "gpm",
        "gal/min": "gpm",
        "usgal/min": "gpm",
        "usgal": "gal",
        "liter": "L",
        "litre": "L",
        "mwc": "mH2O",
        "mh2o": "mH2O",
        "mca": "mH2O",
    }
)

_SUPERSCRIPTS = str.maketrans({"³": "3", "²": "2", "₂": "2"})


class UnknownUnitError(ValueError):
    """A canonical variable declared with a unit we cannot convert (or of the wrong kind)."""

    def __init__(self, unit: str, variable: str) -> None:
        self.unit = unit
        self.variable = variable
        accepted = ", ".join(accepted_units(variable))
        super().__init__(f"unidad desconocida {unit!r} para la variable {variable!r}; se aceptan: {accepted}")


def accepted_units(variable: str) -> list[str]:
    """The unit spellings a canonical variable may be declared with."""
    dimension = VARIABLE_DIMENSIONS.get(variable)
    return [unit for unit, (dim, _) in _UNITS.items() if dim is dimension]


def normalize_unit(text: str) -> str:
    """The standard spelling of a known unit ("m³/h", "M3/H" -> "m3/h"); other text stripped as-is.

    Units of non-canonical variables (pH, µS/cm, °C) are carried unchanged, so an unknown
    spelling is not an error here; :func:`canonical_unit` decides that per variable.
    """
    key = text.translate(_SUPERSCRIPTS).replace(" ", "").lower()
    return _ALIASES.get(key, text.strip())


def _factor(variable: str, unit: str) -> float:
    known = _UNITS.get(normalize_unit(unit))
    if known is None or known[0] is not VARIABLE_DIMENSIONS[variable]:
        raise UnknownUnitError(unit, variable)
    return known[1]


def canonical_unit(variable: str, unit: str) -> str:
    """The unit readings of ``variable`` travel in; a non-canonical variable keeps its own."""
    if variable not in CANONICAL_UNITS:
        return unit
    _factor(variable, unit)
    return CANONICAL_UNITS[variable]


def converter(variable: str, unit: str) -> Callable[[float], float]:
    """A function converting values in ``unit`` to the canonical unit (factor precomputed)."""
    if variable not in CANONICAL_UNITS:
        return _identity
    factor = _factor(variable, unit)
    if factor == 1.0:
        return _identity
    return lambda value: value * factor


def to_canonical(variable: str, value: float, unit: str) -> float:
    """``value`` in ``unit`` expressed in the canonical unit of ``variable``."""
    return converter(variable, unit)(value)


def _identity(value: float) -> float:
    return value
