"""Processing at ingest, as pure functions: cut-off, resets, water table, volume across swaps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from central.telemetry.ingest import Effects, effects_of
from central.telemetry.parse import Incoming
from central.telemetry.processing import (
    MeterChange,
    PointProfile,
    Processed,
    apply_cutoff,
    is_reset,
    processed_rows,
    volume_between,
    water_table,
)
from central.telemetry.rollup import StaleHours
from protocols.uplink import Quality

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
P1 = PointProfile(id=1, code="P1", sensor_depth_m=50.0, flow_cutoff_lps=0.5)
P2 = PointProfile(id=2, code="P2", sensor_depth_m=None, flow_cutoff_lps=0.0)


@pytest.mark.parametrize(
    ("value", "cutoff", "expected"),
    [
        (0.3, 0.5, (0.0, 0.3, "cutoff")),
        (-0.3, 0.5, (0.0, -0.3, "cutoff")),
        (0.49999, 0.5, (0.0, 0.49999, "cutoff")),
        (0.5, 0.5, (0.5, None, None)),
        (-0.5, 0.5, (-0.5, None, None)),
        (-7.0, 0.5, (-7.0, None, None)),
        (12.3, 0.5, (12.3, None, None)),
        (0.0, 0.5, (0.0, None, None)),
        (None, 0.5, (None, None, None)),
        (0.3, 0.0, (0.3, None, None)),
    ],
)
def test_the_low_flow_cutoff_is_symmetric_and_keeps_the_raw_value(value, cutoff, expected):
    assert apply_cutoff(value, cutoff) == expected


@pytest.mark.parametrize(
    ("previous", "current", "expected"),
    [
        (100.0, 100.0, False),
        (100.0, 100.5, False),
        (100.0, 99.9, True),
        (100.0, 0.0, True),
        (None, 5.0, False),
        (100.0, None, False),
    ],
)
def test_a_totalizer_decrease_is_a_reset(previous, current, expected):
    assert is_reset(previous, current) is expected


@pytest.mark.parametrize(
    ("level", "depth", "expected"), [(20.0, 50.0, 30.0), (0.0, 50.0, 50.0), (None, 50.0, None), (55.0, 50.0, -5.0)]
)
def test_water_table_is_sensor_depth_minus_level(level, depth, expected):
    assert water_table(level, depth) == expected


def swap(minute: int, old_final: float | None, new_base: float) -> MeterChange:
    return MeterChange(T0 + timedelta(minutes=minute), old_final, new_base)


@pytest.mark.parametrize(
    ("previous", "current", "changes", "expected"),
    [
        (100.0, 110.0, [], 10.0),
        (100.0, 90.0, [], 0.0),  # a reset adds nothing, never negative
        (100.0, 5.0, [swap(1, 104.0, 0.0)], 9.0),  # old meter 100 -> 104, new 0 -> 5
        (100.0, 5.0, [swap(1, None, 0.0)], 5.0),  # unknown final: the old meter's last stretch is lost
        (100.0, 1005.0, [swap(1, 102.0, 1000.0)], 7.0),  # new meter starts at a base above the old count
        (100.0, 3.0, [swap(2, 0.0, 1.0), swap(1, 101.0, 0.0)], 3.0),  # two swaps, given out of order
        (100.0, 5.0, [swap(1, 99.0, 0.0)], 5.0),  # a final below the previous reading adds nothing
    ],
)
def test_volume_between_two_readings_accounts_for_meter_swaps(previous, current, changes, expected):
    assert volume_between(previous, current, changes) == pytest.approx(expected)


def incoming(
    seq: int, variable: str, minute: int, value: float | None, *, point: str = "P1", quality: Quality = Quality.GOOD
) -> Incoming:
    unit = {"flow": "L/s", "totalizer": "m3", "level": "m"}[variable]
    return Incoming(seq, "dev", point, variable, T0 + timedelta(minutes=minute), value, unit, quality)


def processed(
    variable: str,
    minute: int,
    value: float | None,
    *,
    raw: float | None = None,
    flags: str | None = None,
    seq: int | None = None,
    point_id: int = 1,
    quality: Quality = Quality.GOOD,
) -> Processed:
    unit = {"flow": "L/s", "totalizer": "m3", "level": "m", "water_table": "m"}[variable]
    return Processed(point_id, T0 + timedelta(minutes=minute), variable, value, raw, unit, quality, flags, seq)


def test_a_batch_is_processed_whole():
    batch = [
        incoming(1, "flow", 0, 0.2),
        incoming(2, "flow", 1, -0.4),
        incoming(3, "flow", 2, 8.0),
        incoming(4, "level", 0, 20.0),
        incoming(5, "level", 1, None, quality=Quality.TIMEOUT),
        incoming(6, "totalizer", 1, 99.0),
        incoming(7, "totalizer", 0, 101.0),
        incoming(8, "totalizer", 2, 99.5),
        incoming(9, "flow", 0, 0.2, point="P2"),
        incoming(10, "level", 0, 3.0, point="P2"),
        incoming(11, "flow", 0, 5.0),  # same point, ts and variable as seq 1: the first one wins
    ]
    result = list(processed_rows(batch, {"P1": P1, "P2": P2}, {1: 100.0}))
    assert result == [
        processed("flow", 0, 0.0, raw=0.2, flags="cutoff", seq=1),
        processed("flow", 1, 0.0, raw=-0.4, flags="cutoff", seq=2),
        processed("flow", 2, 8.0, seq=3),
        processed("level", 0, 20.0, seq=4),
        processed("water_table", 0, 30.0, flags="derived"),
        processed("level", 1, None, seq=5, quality=Quality.TIMEOUT),
        processed("water_table", 1, None, flags="derived", quality=Quality.TIMEOUT),
        processed("totalizer", 1, 99.0, flags="reset", seq=6),  # 101 (minute 0) -> 99
        processed("totalizer", 0, 101.0, seq=7),  # 100 stored before -> 101
        processed("totalizer", 2, 99.5, seq=8),
        processed("flow", 0, 0.2, seq=9, point_id=2),  # P2 has no cut-off
        processed("level", 0, 3.0, seq=10, point_id=2),  # and no sensor depth: no water table
    ]


def test_the_first_totalizer_of_a_batch_is_compared_with_the_last_stored_one():
    result = list(processed_rows([incoming(1, "totalizer", 0, 50.0)], {"P1": P1}, {1: 100.0}))
    assert result == [processed("totalizer", 0, 50.0, flags="reset", seq=1)]


def stored_row(point_id: int, minute: int, variable: str, value: float) -> Processed:
    return Processed(point_id, T0 + timedelta(minutes=minute), variable, value, None, "L/s", Quality.GOOD, None, None)


def test_the_effects_of_stored_rows_are_the_newest_of_each_key_the_stale_hours_and_the_points():
    rows = [
        stored_row(2, 70, "flow", 3.0),
        stored_row(1, 5, "flow", 1.0),
        stored_row(1, 190, "flow", 2.0),
        stored_row(1, 130, "level", 9.0),
        stored_row(1, 10, "flow", 1.5),
        stored_row(2, 65, "flow", 2.5),
    ]
    hour = timedelta(hours=1)
    assert effects_of(rows) == Effects(
        newest=[stored_row(1, 190, "flow", 2.0), stored_row(2, 70, "flow", 3.0), stored_row(1, 130, "level", 9.0)],
        stale=[
            StaleHours(1, T0, T0 + hour),
            StaleHours(1, T0 + 2 * hour, T0 + 4 * hour),
            StaleHours(2, T0 + hour, T0 + 2 * hour),
        ],
        point_ids=[1, 2],
    )
