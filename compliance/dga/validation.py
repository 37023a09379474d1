"""Checks a slot's values must pass before they are declared (pure).

What was measured is declared, on time, even a flow far above the water right (the
``flow_above_right`` alert tells people). Only a value that cannot be a measurement waits
for a person: a negative flow or totalizer, a value outside the work's plausibility limits
(:mod:`compliance.dga.plausibility`), a totalizer below the last accepted one with no meter
change recorded, a reading whose quality says the sensor failed, all variables missing (and a
variable the DGA format requires, without which nothing can be sent). Each reason names the
field and the numbers involved so the reviewer can act without digging.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from compliance.dga.config import DgaWorkConfig, Standard, WorkType
from compliance.dga.format import missing_required
from compliance.dga.plausibility import PlausibilityLimits
from compliance.dga.values import NoData, SlotValues

# (value attribute, DGA field, unit, lower limit attribute or a fixed floor, upper limit attribute)
_RANGES: tuple[tuple[str, str, str, str | Decimal | None, str | None], ...] = (
    ("caudal", "caudal", "L/s", Decimal(0), "caudal_max_lps"),
    ("totalizador", "totalizador", "m3", Decimal(0), "totalizador_max_m3"),
    ("nivel_freatico", "nivelFreaticoDelPozo", "m", "nivel_freatico_min_m", "nivel_freatico_max_m"),
    ("altura_limnimetrica_cm", "alturaLimnimetrica", "cm", "altura_limnimetrica_min_cm", "altura_limnimetrica_max_cm"),
)


@dataclass(frozen=True)
class ValidationContext:
    """What a slot is checked against besides its own values."""

    work_type: WorkType
    standard: Standard
    mining_waters: bool = False
    limits: PlausibilityLimits = field(default_factory=PlausibilityLimits)
    last_accepted_totalizer: Decimal | None = None
    meter_changed_since_last_accepted: bool = False

    @classmethod
    def for_work(
        cls,
        config: DgaWorkConfig,
        *,
        last_accepted_totalizer: Decimal | None,
        meter_changed_since_last_accepted: bool,
    ) -> ValidationContext:
        return cls(
            work_type=config.work_type,
            standard=config.standard,
            mining_waters=config.mining_waters,
            limits=config.plausibility,
            last_accepted_totalizer=last_accepted_totalizer,
            meter_changed_since_last_accepted=meter_changed_since_last_accepted,
        )


def _limit(limits: PlausibilityLimits, bound: str | Decimal | None) -> Decimal | None:
    return getattr(limits, bound) if isinstance(bound, str) else bound


def _range_reasons(values: SlotValues, limits: PlausibilityLimits) -> list[str]:
    reasons = []
    for attribute, name, unit, low, high in _RANGES:
        value = getattr(values, attribute)
        bottom, top = _limit(limits, low), _limit(limits, high)
        if value is None:
            continue
        if bottom is not None and value < bottom:
            fixed = isinstance(low, Decimal)
            reasons.append(
                f"{name} {value} {unit} "
                + ("es negativo" if fixed else f"está bajo el mínimo plausible {bottom} {unit}")
            )
        elif top is not None and value > top:
            reasons.append(f"{name} {value} {unit} está sobre el máximo plausible {top} {unit}")
    return reasons


def _totalizer_reasons(values: SlotValues, ctx: ValidationContext) -> list[str]:
    last = ctx.last_accepted_totalizer
    if values.totalizador is None or last is None or ctx.meter_changed_since_last_accepted:
        return []
    if values.totalizador < last:
        return [
            f"totalizador {values.totalizador} m3 está bajo el último aceptado, {last} m3, sin un cambio de medidor registrado"
        ]
    return []


def _faulty_reasons(faulty: tuple[str, ...]) -> list[str]:
    return [f"sensor con falla: {name} tiene una lectura de calidad failure cerca del intervalo" for name in faulty]


def validate(values: SlotValues | NoData, ctx: ValidationContext) -> list[str]:
    """Reasons to hold the slot for a person; an empty list means it is sent as measured."""
    if isinstance(values, NoData):
        return ["faltan todas las variables", *_faulty_reasons(values.faulty)]
    reasons = [
        f"falta {field} (obligatorio para {ctx.work_type.value}, estándar {ctx.standard.value})"
        for field in missing_required(values, ctx.work_type, ctx.standard, ctx.mining_waters)
    ]
    reasons += _range_reasons(values, ctx.limits) + _totalizer_reasons(values, ctx)
    return reasons + _faulty_reasons(values.faulty)
