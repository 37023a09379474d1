from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from compliance.dga.config import Period
from compliance.dga.slots import (
    DGA_TZ,
    deadline,
    due_at,
    due_slots,
    next_slot,
    period_start,
    slot_at_or_before,
    slots_between,
    to_dga_time,
)
from tests import tables

SANTIAGO = ZoneInfo("America/Santiago")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_dga_time_is_a_fixed_minus_four():
    assert DGA_TZ.utcoffset(None) == timedelta(hours=-4)


# Consecutive slots of each period (the DGA's UTC-4 midnight is 04:00 UTC), across the ends of
# half-months, months, half-years and years.
CONSECUTIVE = tables.rows(
    """
    hour        2026-11-28T12:00  2026-11-28T13:00
    hour        2026-11-28T13:00  2026-11-28T14:00
    day         2026-11-27T04:00  2026-11-28T04:00
    day         2026-12-30T04:00  2026-12-31T04:00
    day         2026-12-31T04:00  2027-01-01T04:00
    fortnight   2025-12-16T04:00  2026-01-01T04:00
    fortnight   2026-01-01T04:00  2026-01-16T04:00
    fortnight   2026-02-16T04:00  2026-03-01T04:00
    fortnight   2026-03-01T04:00  2026-03-16T04:00
    fortnight   2026-10-16T04:00  2026-11-01T04:00
    fortnight   2026-11-01T04:00  2026-11-16T04:00
    fortnight   2026-11-16T04:00  2026-12-01T04:00
    fortnight   2026-12-01T04:00  2026-12-16T04:00
    fortnight   2026-12-16T04:00  2027-01-01T04:00
    month       2025-12-01T04:00  2026-01-01T04:00
    month       2026-01-01T04:00  2026-02-01T04:00
    month       2026-11-01T04:00  2026-12-01T04:00
    month       2026-12-01T04:00  2027-01-01T04:00
    six_months  2025-07-01T04:00  2026-01-01T04:00
    six_months  2026-01-01T04:00  2026-07-01T04:00
    six_months  2026-07-01T04:00  2027-01-01T04:00
    year        2025-01-01T04:00  2026-01-01T04:00
    year        2026-01-01T04:00  2027-01-01T04:00
""",
    Period,
    tables.utc,
    tables.utc,
)


@pytest.mark.parametrize(("period", "slot", "following"), CONSECUTIVE)
def test_a_slot_holds_the_times_from_its_start_to_the_next_ones(period, slot, following):
    """Its start, its middle and the instant before the next slot belong to it; the next slot's start does not."""
    middle, last = slot + (following - slot) / 2, following - timedelta(microseconds=1)
    assert [slot_at_or_before(t, period) for t in (slot, middle, last, following)] == [slot, slot, slot, following]
    assert slot_at_or_before(last, period).tzinfo == UTC


@pytest.mark.parametrize(("period", "slot", "following"), CONSECUTIVE)
def test_next_slot_and_period_start_step_between_consecutive_slots(period, slot, following):
    assert (next_slot(slot, period), period_start(following, period)) == (following, slot)


def test_a_time_in_another_offset_falls_in_the_dga_days_slot():
    chile_summer = timezone(timedelta(hours=-3))
    assert slot_at_or_before(datetime(2026, 11, 28, 0, 30, tzinfo=chile_summer), Period.DAY) == utc(2026, 11, 27, 4)


# 2026 America/Santiago: summer time ends Sunday 5 April (UTC-3 -> UTC-4) and starts Sunday 6 September (UTC-4 -> UTC-3).
ACROSS_SANTIAGO_DST = pytest.mark.parametrize(
    "change_day", [utc(2026, 4, 5), utc(2026, 9, 6)], ids=["april-dst-end", "september-dst-start"]
)


@ACROSS_SANTIAGO_DST
def test_daily_slots_stay_at_04_utc_across_santiago_dst(change_day):
    slots = slots_between(change_day - timedelta(days=2), change_day + timedelta(days=3), Period.DAY)
    assert [s.hour for s in slots] == [4] * 5
    assert [to_dga_time(s).strftime("%H:%M") for s in slots] == ["00:00"] * 5
    civil = {s.astimezone(SANTIAGO).strftime("%H:%M") for s in slots}
    assert len(civil) == 2  # the civil clock did move; the DGA's did not


@ACROSS_SANTIAGO_DST
def test_hourly_slots_never_skip_or_repeat_across_santiago_dst(change_day):
    slots = slots_between(change_day, change_day + timedelta(hours=8), Period.HOUR)
    assert len(slots) == 9
    assert all(b - a == timedelta(hours=1) for a, b in pairwise(slots))
    assert len({to_dga_time(s).strftime("%H:%M") for s in slots}) == 9


@ACROSS_SANTIAGO_DST
def test_santiago_changes_its_offset_on_the_days_the_dst_tests_cross(change_day):
    before, after = (change_day + timedelta(days=days, hours=12) for days in (-1, 1))
    assert {before.astimezone(SANTIAGO).utcoffset(), after.astimezone(SANTIAGO).utcoffset()} == {
        timedelta(hours=-3),
        timedelta(hours=-4),
    }


@pytest.mark.parametrize(
    ("start", "end", "period", "expected"),
    [
        (utc(2026, 11, 28, 12, 30), utc(2026, 11, 28, 15), Period.HOUR, [utc(2026, 11, 28, h) for h in (13, 14, 15)]),
        (utc(2026, 11, 28, 13), utc(2026, 11, 28, 13), Period.HOUR, [utc(2026, 11, 28, 13)]),
        (utc(2026, 11, 28, 13, 1), utc(2026, 11, 28, 13, 59), Period.HOUR, []),
        (utc(2026, 1, 15), utc(2026, 4, 1, 4), Period.MONTH, [utc(2026, m, 1, 4) for m in (2, 3, 4)]),
        (
            utc(2025, 6, 1),
            utc(2027, 1, 1, 4),
            Period.SIX_MONTHS,
            [utc(2025, 7, 1, 4), utc(2026, 1, 1, 4), utc(2026, 7, 1, 4), utc(2027, 1, 1, 4)],
        ),
        (
            utc(2026, 1, 20),
            utc(2026, 3, 1, 4),
            Period.FORTNIGHT,
            [utc(2026, 2, 1, 4), utc(2026, 2, 16, 4), utc(2026, 3, 1, 4)],
        ),
        (utc(2025, 6, 1), utc(2027, 6, 1), Period.YEAR, [utc(2026, 1, 1, 4), utc(2027, 1, 1, 4)]),
    ],
)
def test_slots_between_is_inclusive(start, end, period, expected):
    assert slots_between(start, end, period) == expected


def test_due_and_deadline():
    slot = utc(2026, 11, 28, 13)
    assert due_at(slot, timedelta(minutes=10)) == utc(2026, 11, 28, 13, 10)
    assert deadline(slot) == utc(2026, 11, 28, 14)


def test_due_slots_waits_for_the_grace():
    since = utc(2026, 11, 28, 10)
    assert due_slots(since, utc(2026, 11, 28, 13, 9), Period.HOUR, timedelta(minutes=10)) == [
        utc(2026, 11, 28, h) for h in (10, 11, 12)
    ]
    assert due_slots(since, utc(2026, 11, 28, 13, 10), Period.HOUR, timedelta(minutes=10))[-1] == utc(2026, 11, 28, 13)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive"):
        slot_at_or_before(datetime(2026, 11, 28, 13), Period.HOUR)
