from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from compliance.dga.settings import Period
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

SANTIAGO = ZoneInfo("America/Santiago")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_dga_time_is_a_fixed_minus_four():
    assert DGA_TZ.utcoffset(None) == timedelta(hours=-4)


@pytest.mark.parametrize(
    ("t", "period", "slot"),
    [
        (utc(2026, 11, 28, 13, 0, 0), Period.HOUR, utc(2026, 11, 28, 13)),
        (utc(2026, 11, 28, 13, 59, 59, 999999), Period.HOUR, utc(2026, 11, 28, 13)),
        (utc(2026, 11, 28, 13, 30), Period.DAY, utc(2026, 11, 28, 4)),
        (utc(2026, 11, 28, 3, 59), Period.DAY, utc(2026, 11, 27, 4)),
        (utc(2026, 11, 28, 4, 0), Period.DAY, utc(2026, 11, 28, 4)),
        (utc(2026, 12, 1, 3, 0), Period.MONTH, utc(2026, 11, 1, 4)),
        (utc(2026, 12, 1, 4, 0), Period.MONTH, utc(2026, 12, 1, 4)),
        (utc(2026, 1, 1, 3, 59), Period.SIX_MONTHS, utc(2025, 7, 1, 4)),
        (utc(2026, 1, 1, 4, 0), Period.SIX_MONTHS, utc(2026, 1, 1, 4)),
        (utc(2026, 6, 30, 23, 0), Period.SIX_MONTHS, utc(2026, 1, 1, 4)),
        (utc(2026, 7, 1, 4, 0), Period.SIX_MONTHS, utc(2026, 7, 1, 4)),
        (utc(2026, 12, 31, 23, 0), Period.SIX_MONTHS, utc(2026, 7, 1, 4)),
        (datetime(2026, 11, 28, 0, 30, tzinfo=timezone(timedelta(hours=-3))), Period.DAY, utc(2026, 11, 27, 4)),
        (utc(2026, 11, 16, 3, 59), Period.FORTNIGHT, utc(2026, 11, 1, 4)),
        (utc(2026, 11, 16, 4, 0), Period.FORTNIGHT, utc(2026, 11, 16, 4)),
        (utc(2026, 12, 1, 3, 59), Period.FORTNIGHT, utc(2026, 11, 16, 4)),
        (utc(2026, 12, 1, 4, 0), Period.FORTNIGHT, utc(2026, 12, 1, 4)),
        (utc(2026, 1, 1, 3, 59), Period.YEAR, utc(2025, 1, 1, 4)),
        (utc(2026, 1, 1, 4, 0), Period.YEAR, utc(2026, 1, 1, 4)),
        (utc(2026, 12, 31, 23, 0), Period.YEAR, utc(2026, 1, 1, 4)),
    ],
)
def test_slot_at_or_before(t, period, slot):
    assert slot_at_or_before(t, period) == slot
    assert slot_at_or_before(t, period).tzinfo == UTC


@pytest.mark.parametrize(
    ("slot", "period", "following", "start"),
    [
        (utc(2026, 11, 28, 13), Period.HOUR, utc(2026, 11, 28, 14), utc(2026, 11, 28, 12)),
        (utc(2026, 12, 31, 4), Period.DAY, utc(2027, 1, 1, 4), utc(2026, 12, 30, 4)),
        (utc(2026, 12, 1, 4), Period.MONTH, utc(2027, 1, 1, 4), utc(2026, 11, 1, 4)),
        (utc(2026, 1, 1, 4), Period.MONTH, utc(2026, 2, 1, 4), utc(2025, 12, 1, 4)),
        (utc(2026, 7, 1, 4), Period.SIX_MONTHS, utc(2027, 1, 1, 4), utc(2026, 1, 1, 4)),
        (utc(2026, 1, 1, 4), Period.SIX_MONTHS, utc(2026, 7, 1, 4), utc(2025, 7, 1, 4)),
        (utc(2026, 11, 1, 4), Period.FORTNIGHT, utc(2026, 11, 16, 4), utc(2026, 10, 16, 4)),
        (utc(2026, 11, 16, 4), Period.FORTNIGHT, utc(2026, 12, 1, 4), utc(2026, 11, 1, 4)),
        (utc(2026, 12, 16, 4), Period.FORTNIGHT, utc(2027, 1, 1, 4), utc(2026, 12, 1, 4)),
        (utc(2026, 1, 1, 4), Period.FORTNIGHT, utc(2026, 1, 16, 4), utc(2025, 12, 16, 4)),
        (utc(2026, 3, 1, 4), Period.FORTNIGHT, utc(2026, 3, 16, 4), utc(2026, 2, 16, 4)),
        (utc(2026, 1, 1, 4), Period.YEAR, utc(2027, 1, 1, 4), utc(2025, 1, 1, 4)),
    ],
)
def test_next_slot_and_period_start(slot, period, following, start):
    assert next_slot(slot, period) == following
    assert period_start(slot, period) == start


# 2026 America/Santiago: summer time ends Sunday 5 April (UTC-3 -> UTC-4) and starts Sunday 6 September (UTC-4 -> UTC-3).
@pytest.mark.parametrize(
    ("start", "end"),
    [(utc(2026, 4, 3, 0), utc(2026, 4, 8, 0)), (utc(2026, 9, 4, 0), utc(2026, 9, 9, 0))],
    ids=["april-dst-end", "september-dst-start"],
)
def test_daily_slots_stay_at_04_utc_across_santiago_dst(start, end):
    slots = slots_between(start, end, Period.DAY)
    assert [s.hour for s in slots] == [4] * 5
    assert [to_dga_time(s).strftime("%H:%M") for s in slots] == ["00:00"] * 5
    civil = {s.astimezone(SANTIAGO).strftime("%H:%M") for s in slots}
    assert len(civil) == 2  # the civil clock did move; the DGA's did not


@pytest.mark.parametrize(
    ("start", "end"),
    [(utc(2026, 4, 5, 0), utc(2026, 4, 5, 8)), (utc(2026, 9, 6, 0), utc(2026, 9, 6, 8))],
    ids=["april-dst-end", "september-dst-start"],
)
def test_hourly_slots_never_skip_or_repeat_across_santiago_dst(start, end):
    slots = slots_between(start, end, Period.HOUR)
    assert len(slots) == 9
    assert all(b - a == timedelta(hours=1) for a, b in pairwise(slots))
    assert len({to_dga_time(s).strftime("%H:%M") for s in slots}) == 9


def test_santiago_offsets_used_by_the_dst_tests():
    assert utc(2026, 4, 4, 12).astimezone(SANTIAGO).utcoffset() == timedelta(hours=-3)
    assert utc(2026, 4, 6, 12).astimezone(SANTIAGO).utcoffset() == timedelta(hours=-4)
    assert utc(2026, 9, 5, 12).astimezone(SANTIAGO).utcoffset() == timedelta(hours=-4)
    assert utc(2026, 9, 7, 12).astimezone(SANTIAGO).utcoffset() == timedelta(hours=-3)


@pytest.mark.parametrize(
    ("start", "end", "period", "expected"),
    [
        (utc(2026, 11, 28, 12, 30), utc(2026, 11, 28, 15), Period.HOUR, [utc(2026, 11, 28, h) for h in (13, 14, 15)]),
        (utc(2026, 11, 28, 13), utc(2026, 11, 28, 13), Period.HOUR, [utc(2026, 11, 28, 13)]),
        (utc(2026, 11, 28, 13, 1), utc(2026, 11, 28, 13, 59), Period.HOUR, []),
        (utc(2026, 1, 15), utc(2026, 4, 1, 4), Period.MONTH, [utc(2026, m, 1, 4) for m in (2, 3, 4)]),
        (utc(2025, 6, 1), utc(2027, 1, 1, 4), Period.SIX_MONTHS, [utc(2025, 7, 1, 4), utc(2026, 1, 1, 4), utc(2026, 7, 1, 4), utc(2027, 1, 1, 4)]),
        (utc(2026, 1, 20), utc(2026, 3, 1, 4), Period.FORTNIGHT,
         [utc(2026, 2, 1, 4), utc(2026, 2, 16, 4), utc(2026, 3, 1, 4)]),
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
    assert due_slots(since, utc(2026, 11, 28, 13, 9), Period.HOUR, timedelta(minutes=10)) == [utc(2026, 11, 28, h) for h in (10, 11, 12)]
    assert due_slots(since, utc(2026, 11, 28, 13, 10), Period.HOUR, timedelta(minutes=10))[-1] == utc(2026, 11, 28, 13)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive"):
        slot_at_or_before(datetime(2026, 11, 28, 13), Period.HOUR)
