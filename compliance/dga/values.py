"""The values a slot declares, derived from stored readings (pure; the caller loads them).

A value is never invented: a variable without a usable reading near the slot stays
``None``, and a slot where every declared variable is missing is :class:`NoData`, a gap
that stays visible. Readings are turned into :class:`~decimal.Decimal` through their
shortest repr so that 12.345 stays 12.345 and rounds the way a person expects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from compliance.dga.config import CaudalMode, Period, WorkType
from compliance.dga.slots import next_slot, period_start, slots_between
from compliance.samples import Sample, as_decimal, in_window, reading_at
from protocols.uplink import Quality


@dataclass(frozen=True)
class MeterChange:
    """A recorded meter reset or swap: the old meter's last reading and the new one's first."""

    at: datetime
    old_final: Decimal
    new_initial: Decimal


@dataclass(frozen=True)
class SlotReadings:
    """Readings around a slot (at least ``window`` either side of the slot and, for average
    flow, of the period start), per canonical variable."""

    flow: Sequence[Sample] = ()
    totalizer: Sequence[Sample] = ()
    level: Sequence[Sample] = ()
    water_table: Sequence[Sample] = ()


@dataclass(frozen=True)
class SlotValues:
    """What a slot declares, in DGA units (L/s, m³, m, cm), unrounded; ``None`` = missing.

    ``faulty``: variables with a failure-quality reading in the window used;
    ``unsynced``: variables whose chosen reading came from a gateway with an unsynchronised clock.
    """

    caudal: Decimal | None = None
    totalizador: Decimal | None = None
    nivel_freatico: Decimal | None = None
    altura_limnimetrica_cm: Decimal | None = None
    faulty: tuple[str, ...] = ()
    unsynced: tuple[str, ...] = ()


@dataclass(frozen=True)
class NoData:
    """A slot without any usable reading for the work's variables."""

    slot: datetime
    faulty: tuple[str, ...] = ()


@dataclass(frozen=True)
class ValuesSettings:
    """How values are taken for one work."""

    work_type: WorkType
    period: Period
    caudal_mode: CaudalMode
    window: timedelta
    sensor_depth_m: Decimal | None = None


def slots_reading_between(lo: datetime, hi: datetime, settings: ValuesSettings) -> list[datetime]:
    """The slots whose values may read readings taken in ``[lo, hi)``: those within ``window``
    of it and, for average flow, those whose period starts within ``window`` of it (what a
    late reading can change)."""
    near = slots_between(lo - settings.window, hi + settings.window, settings.period)
    if settings.caudal_mode is CaudalMode.AVERAGE:
        near += [next_slot(slot, settings.period) for slot in near]
    return sorted(set(near))


def has_fault(samples: Sequence[Sample], at: datetime, window: timedelta) -> bool:
    """Whether a reading near ``at`` carries a failure quality (timeout, device, decode, range)."""
    return any(not s.quality.has_value for s in in_window(samples, at, window))


def volume_between(start: Sample, end: Sample, changes: Sequence[MeterChange]) -> Decimal:
    """Volume (m³) from ``start`` to ``end``, bridging each meter change with its readings."""
    current = as_decimal(start.value)  # type: ignore[arg-type]
    volume = Decimal(0)
    for change in sorted(changes, key=lambda c: c.at):
        if start.ts < change.at <= end.ts:
            volume += change.old_final - current
            current = change.new_initial
    return volume + as_decimal(end.value) - current  # type: ignore[arg-type]


def average_flow(start: Sample | None, end: Sample | None, changes: Sequence[MeterChange]) -> Decimal | None:
    """Average L/s between two totalizer readings: Δm³ × 1000 / seconds; ``None`` if not computable."""
    if start is None or end is None or end.ts <= start.ts:
        return None
    seconds = Decimal(repr((end.ts - start.ts).total_seconds()))
    return volume_between(start, end, changes) * 1000 / seconds


Used = list[tuple[str, Sample]]


def _value(sample: Sample | None) -> Decimal | None:
    return None if sample is None else as_decimal(sample.value)  # type: ignore[arg-type]


def _take(used: Used, name: str, samples: Sequence[Sample], at: datetime, window: timedelta) -> Sample | None:
    sample = reading_at(samples, at, window)
    if sample is not None:
        used.append((name, sample))
    return sample


def _caudal(
    slot: datetime, readings: SlotReadings, settings: ValuesSettings, changes: Sequence[MeterChange], used: Used
) -> Decimal | None:
    if settings.caudal_mode is CaudalMode.INSTANT:
        return _value(_take(used, "flow", readings.flow, slot, settings.window))
    start_at = period_start(slot, settings.period)
    start = _take(used, "totalizer", readings.totalizer, start_at, settings.window)
    end = _take(used, "totalizer", readings.totalizer, slot, settings.window)
    return average_flow(start, end, changes)


def _nivel(slot: datetime, readings: SlotReadings, settings: ValuesSettings, used: Used) -> Decimal | None:
    derived = _take(used, "water_table", readings.water_table, slot, settings.window)
    if derived is not None:
        return _value(derived)
    if settings.sensor_depth_m is None:
        return None
    level = _take(used, "level", readings.level, slot, settings.window)
    return None if level is None else settings.sensor_depth_m - _value(level)


def _altura_cm(slot: datetime, readings: SlotReadings, settings: ValuesSettings, used: Used) -> Decimal | None:
    level = _value(_take(used, "level", readings.level, slot, settings.window))
    return None if level is None else level * 100


def _faulty(slot: datetime, readings: SlotReadings, settings: ValuesSettings) -> tuple[str, ...]:
    """Variables the work declares that have a failure-quality reading where values are taken."""
    at = {name: [slot] for name in ("flow", "totalizer", "level", "water_table")}
    if settings.caudal_mode is CaudalMode.AVERAGE:
        at["totalizer"].append(period_start(slot, settings.period))
    return tuple(
        name
        for name in _declared_variables(settings)
        if any(has_fault(getattr(readings, name), when, settings.window) for when in at[name])
    )


def _declared_variables(settings: ValuesSettings) -> tuple[str, ...]:
    names = ["flow" if settings.caudal_mode is CaudalMode.INSTANT else "totalizer"]
    if settings.work_type is not WorkType.SUPERFICIAL:
        names.append("totalizer")
    if settings.work_type is WorkType.SUBTERRANEA:
        names += ["water_table", "level"]
    if settings.work_type is WorkType.SUPERFICIAL:
        names.append("level")
    return tuple(dict.fromkeys(names))


def slot_values(
    slot: datetime, readings: SlotReadings, settings: ValuesSettings, meter_changes: Sequence[MeterChange] = ()
) -> SlotValues | NoData:
    """The values a slot declares for its work type, or :class:`NoData` when all are missing."""
    used: Used = []
    values = {"caudal": _caudal(slot, readings, settings, meter_changes, used)}
    if settings.work_type is not WorkType.SUPERFICIAL:
        values["totalizador"] = _value(_take(used, "totalizer", readings.totalizer, slot, settings.window))
    if settings.work_type is WorkType.SUBTERRANEA:
        values["nivel_freatico"] = _nivel(slot, readings, settings, used)
    if settings.work_type is WorkType.SUPERFICIAL:
        values["altura_limnimetrica_cm"] = _altura_cm(slot, readings, settings, used)
    faulty = _faulty(slot, readings, settings)
    if all(value is None for value in values.values()):
        return NoData(slot, faulty)
    unsynced = tuple(dict.fromkeys(name for name, s in used if s.quality is Quality.CLOCK_UNSYNCED))
    return SlotValues(**values, faulty=faulty, unsynced=unsynced)
