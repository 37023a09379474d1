"""Checks a slot's values must pass before they are declared (pure).

A value declared to the DGA cannot be withdrawn, so anything suspicious waits for a person
(accept, correct or discard) instead of being sent. Each reason names the field and the
numbers involved so the reviewer can act without digging.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from compliance.dga.format import missing_required
from compliance.dga.settings import DgaWorkConfig, Standard, WorkType
from compliance.dga.values import NoData, SlotValues


@dataclass(frozen=True)
class ValidationContext:
    """What a slot is checked against besides its own values."""

    work_type: WorkType
    standard: Standard
    mining_waters: bool = False
    water_right_lps: Decimal | None = None
    flow_tolerance: Decimal = Decimal("1.10")
    last_accepted_totalizer: Decimal | None = None
    meter_changed_since_last_accepted: bool = False

    @classmethod
    def for_work(
        cls,
        config: DgaWorkConfig,
        *,
        water_right_lps: Decimal | None,
        last_accepted_totalizer: Decimal | None,
        meter_changed_since_last_accepted: bool,
    ) -> ValidationContext:
        return cls(
            work_type=config.work_type,
            standard=config.standard,
            mining_waters=config.mining_waters,
            water_right_lps=water_right_lps,
            flow_tolerance=config.flow_tolerance,
            last_accepted_totalizer=last_accepted_totalizer,
            meter_changed_since_last_accepted=meter_changed_since_last_accepted,
        )


def _flow_reasons(values: SlotValues, ctx: ValidationContext) -> list[str]:
    if values.caudal is None:
        return []
    if values.caudal < 0:
        return [f"caudal {values.caudal:.2f} L/s is negative"]
    if ctx.water_right_lps is not None and values.caudal > ctx.water_right_lps * ctx.flow_tolerance:
        limit = ctx.water_right_lps * ctx.flow_tolerance
        return [
            f"caudal {values.caudal:.2f} L/s is above the water right {ctx.water_right_lps:.2f} L/s "
            f"x tolerance {ctx.flow_tolerance:.2f} = {limit:.2f} L/s"
        ]
    return []


def _totalizer_reasons(values: SlotValues, ctx: ValidationContext) -> list[str]:
    last = ctx.last_accepted_totalizer
    if values.totalizador is None or last is None or ctx.meter_changed_since_last_accepted:
        return []
    if values.totalizador < last:
        return [
            f"totalizador {values.totalizador} m3 is below the last accepted {last} m3 with no meter change recorded"
        ]
    return []


def _sensor_reasons(values: SlotValues) -> list[str]:
    reasons = [f"sensor flagged faulty: {name} has a failure-quality reading near the slot" for name in values.faulty]
    reasons += [f"{name} was read with the gateway clock unsynchronised" for name in values.unsynced]
    return reasons


def validate(values: SlotValues | NoData, ctx: ValidationContext) -> list[str]:
    """Reasons to hold the slot for a person; an empty list means it may be sent."""
    if isinstance(values, NoData):
        return ["all variables missing"] + [
            f"sensor flagged faulty: {name} has a failure-quality reading near the slot" for name in values.faulty
        ]
    reasons = [
        f"{field} missing (required for {ctx.work_type.value}, standard {ctx.standard.value})"
        for field in missing_required(values, ctx.work_type, ctx.standard, ctx.mining_waters)
    ]
    return reasons + _flow_reasons(values, ctx) + _totalizer_reasons(values, ctx) + _sensor_reasons(values)
