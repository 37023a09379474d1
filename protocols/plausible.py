"""Is a decoded value believable for its variable? A wrong byte order is a number, not an error.

A float read with the wrong word or byte order is rarely NaN: it is -1.26e-21 L/s or 3.4e+38
m3, numbers that look like readings and would go to the regulator as ones. Each canonical
variable therefore has a range no real well leaves, and a nonzero magnitude below
:data:`SMALLEST` (far below any meter's resolution) is taken as garbage too. A profile or a
site narrows the range per register (``min_value``/``max_value``, canonical unit); a value
outside becomes ``out_of_range``, never a made-up number.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

SMALLEST = 1e-9  # canonical units: a nanolitre per second, a cubic millimetre, a nanometre


@dataclass(frozen=True)
class Limits:
    """The believable values of one variable, in its canonical unit."""

    low: float
    high: float


DEFAULT_LIMITS = MappingProxyType(
    {
        "flow": Limits(-100.0, 20_000.0),  # L/s: a little reverse flow .. far beyond any well
        "totalizer": Limits(0.0, 1e11),  # m3: counters never go negative
        "level": Limits(-50.0, 3_000.0),  # m of water above the probe
    }
)


def limits_for(variable: str, low: float | None = None, high: float | None = None) -> Limits | None:
    """The range a value of ``variable`` must lie in: the register's own ends where given, else
    the variable's default; None for a variable without a default and no ends given."""
    default = DEFAULT_LIMITS.get(variable)
    if default is None and low is None and high is None:
        return None
    return Limits(
        low if low is not None else default.low if default else float("-inf"),
        high if high is not None else default.high if default else float("inf"),
    )


def implausibility(variable: str, value: float, unit: str, limits: Limits | None) -> str | None:
    """Why ``value`` (canonical ``unit``) cannot be a real reading of ``variable``, or None if it can."""
    if limits is not None and not limits.low <= value <= limits.high:
        return f"{variable} {value:.6g} {unit} está fuera del rango plausible {limits.low:g}..{limits.high:g} {unit}"
    if value != 0 and abs(value) < SMALLEST:
        return f"{variable} {value:.6g} {unit} es distinto de cero y menor que lo que resuelve cualquier medidor"
    return None
