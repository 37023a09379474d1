"""What a work's meter can physically report: the limits outside which a value is held.

A measured value is declared as measured, on time, even above the water right (the
``flow_above_right`` alert tells people about that). Only a value that cannot be a
measurement waits for a person: the limits here, per work configuration, bound it. A meter
profile (``protocols/profiles``) gives defaults where its register map bounds a value: an
unsigned integer register cannot hold more than its capacity, so a larger value is a decoding
or wiring fault. A profile whose range depends on site data (a 4-20 mA loop) gives none.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from protocols.profiles import load_profile
from protocols.registers import RegisterSpec
from protocols.registerwords import DataType
from protocols.units import to_canonical

_CAPACITY_BITS = {DataType.UINT16: 16, DataType.UINT32: 32, DataType.UINT64: 64}
_PROFILE_FIELDS = {"flow": "caudal_max_lps", "totalizer": "totalizador_max_m3"}
_PAIRS = (
    ("nivel_freatico_min_m", "nivel_freatico_max_m"),
    ("altura_limnimetrica_min_cm", "altura_limnimetrica_max_cm"),
)


class PlausibilityLimits(BaseModel):
    """A work's plausible range per declared variable (DGA units); ``None`` = no bound.

    Flow and totalizer are never negative whatever is configured.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    caudal_max_lps: Decimal | None = Field(default=None, gt=0, description="Highest flow the meter can measure")
    totalizador_max_m3: Decimal | None = Field(default=None, gt=0, description="Highest totalizer reading")
    nivel_freatico_min_m: Decimal | None = Field(default=None, description="Shallowest water-table depth possible")
    nivel_freatico_max_m: Decimal | None = Field(default=None, description="Deepest (e.g. the sensor's depth)")
    altura_limnimetrica_min_cm: Decimal | None = None
    altura_limnimetrica_max_cm: Decimal | None = None

    @model_validator(mode="after")
    def _ordered(self) -> PlausibilityLimits:
        for low, high in _PAIRS:
            bottom, top = getattr(self, low), getattr(self, high)
            if bottom is not None and top is not None and bottom >= top:
                raise ValueError(f"{low} {bottom} debe ser menor que {high} {top}")
        return self

    def over(self, defaults: PlausibilityLimits) -> PlausibilityLimits:
        """These limits, with ``defaults`` where none is set."""
        mine = self.model_dump(exclude_none=True)
        return PlausibilityLimits(**{**defaults.model_dump(exclude_none=True), **mine})


def _capacity(spec: RegisterSpec) -> Decimal | None:
    bits = _CAPACITY_BITS.get(spec.type)
    if bits is None or spec.scale <= 0:
        return None
    raw = (2**bits - 1) * spec.scale + spec.offset
    return Decimal(repr(to_canonical(spec.variable, raw, spec.unit)))


def profile_limits(name: str) -> PlausibilityLimits:
    """The limits a meter profile implies (its unsigned integer registers' capacity)."""
    profile = load_profile(name)
    if profile.requires:
        return PlausibilityLimits()
    found = {}
    for spec in profile.registers:
        field = _PROFILE_FIELDS.get(spec.variable)
        capacity = _capacity(spec) if field else None
        if field and capacity is not None:
            found[field] = capacity
    return PlausibilityLimits(**found)
