"""Slot arithmetic in the DGA's fixed UTC-4.

A slot is a period boundary on the UTC-4 wall clock: the top of the hour, 00:00 of a day,
the 1st and the 16th of a month (fortnight), the 1st of a month, 1 January / 1 July, 1 January
(docs/dga.md, "Slots and periods"). The DGA's time is UTC-4 all year; America/Santiago
moves to UTC-3 in summer and must never be used here, or every daily slot would shift by an
hour twice a year. Inputs and outputs are aware datetimes; outputs are in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from compliance.dga.config import Period

DGA_TZ = timezone(timedelta(hours=-4))
SEND_WINDOW = timedelta(hours=1)


def _aware(t: datetime) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"slot arithmetic needs an aware datetime, got naive {t.isoformat()}")
    return t


def to_dga_time(t: datetime) -> datetime:
    """``t`` on the DGA's UTC-4 wall clock."""
    return _aware(t).astimezone(DGA_TZ)


_MONTHS = {Period.MONTH: 1, Period.SIX_MONTHS: 6, Period.YEAR: 12}
FORTNIGHT_SECOND_HALF = 16  # a month's second fortnight starts on the 16th (docs/dga.md)


def slot_at_or_before(t: datetime, period: Period) -> datetime:
    """The last slot boundary at or before ``t`` (UTC)."""
    local = to_dga_time(t).replace(microsecond=0, second=0, minute=0)
    if period is not Period.HOUR:
        local = local.replace(hour=0)
    if period is Period.FORTNIGHT:
        local = local.replace(day=1 if local.day < FORTNIGHT_SECOND_HALF else FORTNIGHT_SECOND_HALF)
    elif period in _MONTHS:
        local = local.replace(day=1)
        local = local.replace(month=local.month - (local.month - 1) % _MONTHS[period])
    return local.astimezone(UTC)


def _add_months(local: datetime, months: int) -> datetime:
    index = local.month - 1 + months
    return local.replace(year=local.year + index // 12, month=index % 12 + 1)


def _step(slot: datetime, period: Period, forward: bool) -> datetime:
    """The boundary one period after (or before) the aligned ``slot``."""
    local = to_dga_time(slot_at_or_before(slot, period))
    sign = 1 if forward else -1
    if period is Period.HOUR:
        local += sign * timedelta(hours=1)
    elif period is Period.DAY:
        local += sign * timedelta(days=1)
    elif period is Period.FORTNIGHT:
        first_half = local.day == 1
        if first_half != forward:
            local = _add_months(local, sign)
        local = local.replace(day=FORTNIGHT_SECOND_HALF if first_half else 1)
    else:
        local = _add_months(local, sign * _MONTHS[period])
    return local.astimezone(UTC)


def next_slot(slot: datetime, period: Period) -> datetime:
    """The boundary after ``slot`` (``slot`` itself need not be aligned; the result is)."""
    return _step(slot, period, forward=True)


def period_start(slot: datetime, period: Period) -> datetime:
    """The start of the period that ends at ``slot`` (the previous boundary).

    Average flow for a slot is the volume of this period over its duration.
    """
    return _step(slot, period, forward=False)


def slots_between(start: datetime, end: datetime, period: Period) -> list[datetime]:
    """Every slot ``s`` with ``start <= s <= end``, in order."""
    slot = slot_at_or_before(start, period)
    if slot < _aware(start):
        slot = next_slot(slot, period)
    found: list[datetime] = []
    while slot <= _aware(end):
        found.append(slot)
        slot = next_slot(slot, period)
    return found


def due_at(slot: datetime, grace: timedelta) -> datetime:
    """When a slot's data should have arrived and it can be evaluated and sent."""
    return _aware(slot) + grace


def deadline(slot: datetime) -> datetime:
    """The latest time the measurement may reach the DGA: one hour after it was taken."""
    return _aware(slot) + SEND_WINDOW


def due_slots(since: datetime, now: datetime, period: Period, grace: timedelta) -> list[datetime]:
    """Slots from ``since`` whose due time has come by ``now``."""
    return slots_between(since, now - grace, period)
