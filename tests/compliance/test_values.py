from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from compliance.dga.config import CaudalMode, Period, WorkType
from compliance.dga.values import (
    MeterChange,
    NoData,
    Sample,
    SlotReadings,
    SlotValues,
    ValuesSettings,
    average_flow,
    reading_at,
    slot_values,
    slots_reading_between,
)
from protocols.uplink import Quality

SLOT = datetime(2026, 11, 28, 13, tzinfo=UTC)  # 09:00 UTC-4
W = timedelta(minutes=5)


def at(minutes: float, value, quality=Quality.GOOD) -> Sample:
    return Sample(SLOT + timedelta(minutes=minutes), value, quality)


def settings(
    work_type=WorkType.SUBTERRANEA, mode=CaudalMode.INSTANT, depth="50.00", period=Period.HOUR
) -> ValuesSettings:
    return ValuesSettings(work_type, period, mode, W, None if depth is None else Decimal(depth))


@pytest.mark.parametrize(
    ("samples", "expected"),
    [
        ([at(-1, 1.0), at(0, 2.0), at(1, 3.0)], 2.0),
        ([at(-1, 1.0), at(1, 3.0)], 1.0),  # tie: the earlier reading wins
        ([at(-2, 1.0), at(0.5, 3.0)], 3.0),  # nearest, even just after the slot
        ([at(-6, 1.0), at(6, 3.0)], None),  # both outside the window
        ([at(-5, 1.0)], 1.0),  # window edge included
        ([at(0, None, Quality.TIMEOUT), at(-3, 4.0)], 4.0),  # a failed read is skipped, not zero
        ([at(0, None, Quality.DEVICE_ERROR)], None),
        ([], None),
    ],
)
def test_reading_at_the_slot(samples, expected):
    found = reading_at(samples, SLOT, W)
    assert (None if found is None else found.value) == expected


def test_instant_subterranea_values():
    readings = SlotReadings(flow=[at(0, 12.3)], totalizer=[at(0, 154320.7)], level=[at(0, 14.58)])
    assert slot_values(SLOT, readings, settings()) == SlotValues(
        caudal=Decimal("12.3"), totalizador=Decimal("154320.7"), nivel_freatico=Decimal("35.42")
    )


def test_water_table_is_preferred_over_level():
    readings = SlotReadings(flow=[at(0, 1.0)], totalizer=[at(0, 10)], level=[at(0, 14.58)], water_table=[at(0, 30.01)])
    assert slot_values(SLOT, readings, settings()).nivel_freatico == Decimal("30.01")


def test_without_sensor_depth_the_level_gives_no_water_table():
    readings = SlotReadings(flow=[at(0, 1.0)], totalizer=[at(0, 10)], level=[at(0, 14.58)])
    assert slot_values(SLOT, readings, settings(depth=None)).nivel_freatico is None


def test_average_flow_from_the_totalizer_delta():
    # 36 m3 in one hour = 10 L/s
    readings = SlotReadings(totalizer=[at(-60, 1000), at(0, 1036)], flow=[at(0, 99.0)])
    values = slot_values(SLOT, readings, settings(WorkType.SUPERFICIAL_FLUJOMETRO, CaudalMode.AVERAGE))
    assert values == SlotValues(caudal=Decimal(10), totalizador=Decimal(1036))


def test_average_flow_uses_the_actual_interval_between_readings():
    start, end = Sample(SLOT, 0, Quality.GOOD), Sample(SLOT + timedelta(seconds=90), 0.9, Quality.GOOD)
    assert average_flow(start, end, []) == Decimal(10)


def test_average_flow_across_a_meter_change():
    # old meter 1000 -> 1020 (swap at -30 min), new meter 0 -> 16: 36 m3 in 3600 s = 10 L/s
    change = MeterChange(SLOT - timedelta(minutes=30), old_final=Decimal(1020), new_initial=Decimal(0))
    readings = SlotReadings(totalizer=[at(-60, 1000), at(0, 16)])
    values = slot_values(SLOT, readings, settings(WorkType.SUPERFICIAL_FLUJOMETRO, CaudalMode.AVERAGE), [change])
    assert values == SlotValues(caudal=Decimal(10), totalizador=Decimal(16))


def test_a_meter_change_outside_the_period_is_ignored():
    change = MeterChange(SLOT - timedelta(hours=3), old_final=Decimal(5), new_initial=Decimal(0))
    readings = SlotReadings(totalizer=[at(-60, 1000), at(0, 1036)])
    values = slot_values(SLOT, readings, settings(WorkType.SUPERFICIAL_FLUJOMETRO, CaudalMode.AVERAGE), [change])
    assert values.caudal == Decimal(10)


def test_average_flow_without_the_start_reading_stays_missing():
    readings = SlotReadings(totalizer=[at(0, 1036)], flow=[at(0, 10.0)])
    values = slot_values(SLOT, readings, settings(WorkType.SUPERFICIAL_FLUJOMETRO, CaudalMode.AVERAGE))
    assert values == SlotValues(caudal=None, totalizador=Decimal(1036))


def test_average_over_a_day_uses_the_previous_midnight():
    day_slot = datetime(2026, 11, 28, 4, tzinfo=UTC)
    readings = SlotReadings(totalizer=[Sample(day_slot - timedelta(days=1), 0), Sample(day_slot, 864)])
    values = slot_values(
        day_slot, readings, settings(WorkType.SUPERFICIAL_FLUJOMETRO, CaudalMode.AVERAGE, period=Period.DAY)
    )
    assert values.caudal == Decimal(10)


def test_missing_variables_stay_missing():
    readings = SlotReadings(flow=[at(0, 12.3)])
    assert slot_values(SLOT, readings, settings()) == SlotValues(caudal=Decimal("12.3"))


@pytest.mark.parametrize("work_type", list(WorkType))
def test_nothing_usable_is_no_data(work_type):
    readings = SlotReadings(flow=[at(0, None, Quality.TIMEOUT)], totalizer=[at(-30, 5)])
    assert slot_values(SLOT, readings, settings(work_type)) == NoData(SLOT, ("flow",))


def test_superficial_gives_the_limnimetric_height_in_cm():
    readings = SlotReadings(flow=[at(0, 3.2)], level=[at(0, 0.456)], totalizer=[at(0, 77)])
    assert slot_values(SLOT, readings, settings(WorkType.SUPERFICIAL)) == SlotValues(
        caudal=Decimal("3.2"), altura_limnimetrica_cm=Decimal("45.600")
    )


def test_faulty_and_unsynced_readings_are_flagged():
    readings = SlotReadings(
        flow=[at(-1, None, Quality.OUT_OF_RANGE), at(0, 12.0, Quality.CLOCK_UNSYNCED)],
        totalizer=[at(0, 10)],
        level=[at(2, None, Quality.DECODE_ERROR), at(0, 14.0)],
    )
    values = slot_values(SLOT, readings, settings())
    assert (values.faulty, values.unsynced) == (("flow", "level"), ("flow",))


def test_a_fault_far_from_the_slot_is_not_flagged():
    readings = SlotReadings(flow=[at(-30, None, Quality.TIMEOUT), at(0, 12.0)], totalizer=[at(0, 10)])
    assert slot_values(SLOT, readings, settings()).faulty == ()


def test_float_readings_keep_their_decimal_spelling():
    readings = SlotReadings(flow=[at(0, 12.345)], totalizer=[at(0, 1)])
    assert slot_values(SLOT, readings, settings(WorkType.SUPERFICIAL_FLUJOMETRO)).caudal == Decimal("12.345")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("lo", "hi", "mode", "period", "expected"),
    [
        (
            "2026-11-28T10:00",
            "2026-11-28T11:00",
            CaudalMode.INSTANT,
            Period.HOUR,
            ["2026-11-28T10:00", "2026-11-28T11:00"],
        ),
        # average flow also reads the totalizer at the period start: the next slot too
        (
            "2026-11-28T10:00",
            "2026-11-28T11:00",
            CaudalMode.AVERAGE,
            Period.HOUR,
            ["2026-11-28T10:00", "2026-11-28T11:00", "2026-11-28T12:00"],
        ),
        # a daily slot is 00:00 UTC-4 = 04:00 UTC; hours away from it read nothing it declares
        ("2026-11-28T10:00", "2026-11-28T11:00", CaudalMode.INSTANT, Period.DAY, []),
        ("2026-11-28T10:00", "2026-11-28T11:00", CaudalMode.AVERAGE, Period.DAY, []),
        ("2026-11-28T03:00", "2026-11-28T05:00", CaudalMode.INSTANT, Period.DAY, ["2026-11-28T04:00"]),
        (
            "2026-11-28T03:00",
            "2026-11-28T05:00",
            CaudalMode.AVERAGE,
            Period.DAY,
            ["2026-11-28T04:00", "2026-11-29T04:00"],
        ),
        # within the window of a boundary: 03:55 is 5 minutes before 04:00
        ("2026-11-28T03:00", "2026-11-28T03:56", CaudalMode.INSTANT, Period.DAY, ["2026-11-28T04:00"]),
        ("2026-11-28T03:00", "2026-11-28T03:54", CaudalMode.INSTANT, Period.DAY, []),
    ],
)
def test_slots_reading_between(lo, hi, mode, period, expected):
    found = slots_reading_between(utc(lo), utc(hi), settings(mode=mode, period=period))
    assert found == [utc(slot) for slot in expected]


@pytest.mark.parametrize(
    ("period", "start", "slot", "volume_m3"),
    [  # 10 L/s throughout: the volume of each period is 36 m3 an hour
        (Period.HOUR, "2026-11-28T12:00", "2026-11-28T13:00", 36),
        (Period.DAY, "2026-11-27T04:00", "2026-11-28T04:00", 864),
        (Period.FORTNIGHT, "2026-11-16T04:00", "2026-12-01T04:00", 12_960),  # 16th-30th: 15 days
        (Period.FORTNIGHT, "2027-02-16T04:00", "2027-03-01T04:00", 11_232),  # 16th-28th: 13 days
        (Period.MONTH, "2026-11-01T04:00", "2026-12-01T04:00", 25_920),
        (Period.SIX_MONTHS, "2026-01-01T04:00", "2026-07-01T04:00", 156_384),  # 181 days
        (Period.YEAR, "2026-01-01T04:00", "2027-01-01T04:00", 315_360),
    ],
)
def test_average_caudal_is_the_period_volume_over_its_duration(period, start, slot, volume_m3):
    readings = SlotReadings(totalizer=[Sample(utc(start), 1000.0), Sample(utc(slot), 1000.0 + volume_m3)])
    values = slot_values(
        utc(slot), readings, settings(WorkType.SUPERFICIAL_FLUJOMETRO, CaudalMode.AVERAGE, period=period)
    )
    assert values == SlotValues(caudal=Decimal(10), totalizador=Decimal(1000 + volume_m3))
