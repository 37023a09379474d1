"""Hourly summaries give the same aggregates as the readings, and are used only where exact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from central.telemetry import aggregates, rollup
from central.telemetry.buckets import spans
from tests.central.telemetry_support import batch, messy_series, reading

NOW = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)
SANTIAGO = ZoneInfo("America/Santiago")


def two_days(seed: int) -> list[dict]:
    """Two days of flow, totalizer and level up to an hour before NOW (see :func:`messy_series`)."""
    return messy_series(seed, NOW - timedelta(days=2), 2 * 24 * 60 - 60, steps=[1, 1, 1, 2])


def from_readings(conn, point_id, bucket, tz, buckets, interval_s):
    """The aggregate computed from the readings only (the path for non-hour-aligned requests)."""
    start, end = buckets[0].start, buckets[-1].end
    anchor = aggregates._anchor(conn, point_id, start)
    stats = aggregates.statistics(conn, point_id, bucket, tz, start, end, interval_s)
    volume = aggregates.volumes(conn, point_id, bucket, tz, start, end, anchor)
    aggregates.add_swap_corrections(conn, volume, point_id, bucket, tz, start, end, anchor)
    return aggregates.summarize(buckets, stats, volume, NOW, interval_s)


def approx(items):
    return [{k: pytest.approx(v, abs=1e-5) if isinstance(v, float) else v for k, v in item.items()} for item in items]


@pytest.mark.parametrize(
    ("bucket", "interval_s"), [("hour", 60), ("hour", 600), ("day", 60), ("day", 300), ("month", 120)]
)
def test_hourly_summaries_give_the_same_aggregates_as_the_readings(site, bucket, interval_s):
    readings = two_days(seed=7)
    for first in range(0, len(readings), 997):  # batches that split hours, as a backlog upload does
        assert site.ingest(batch(readings[first : first + 997], NOW)).status_code == 200
    site.post(
        "/api/v1/points/P1/meter-changes", {"ts": "2026-11-27T08:30:30Z", "old_final_m3": 9999.0, "new_base_m3": 0.0}
    )
    buckets = spans(NOW - timedelta(days=2, hours=5), NOW, bucket, SANTIAGO, 1000)
    with site.db.connect() as conn:
        point_id = conn.fetchval("SELECT id FROM points WHERE code = 'P1'")
        assert rollup.usable(bucket, SANTIAGO, buckets[0].start, buckets[-1].end, interval_s)
        expected = from_readings(conn, point_id, bucket, SANTIAGO, buckets, interval_s)
    assert aggregates.summary(site.db, point_id, bucket, SANTIAGO, buckets, interval_s, NOW) == approx(expected)


def test_a_late_reading_refreshes_its_hour(site):
    site.ingest(batch([reading(1, "flow", NOW - timedelta(minutes=50), 2.0)], NOW))
    site.ingest(batch([reading(2, "flow", NOW - timedelta(minutes=40), 4.0)], NOW))
    with site.db.transaction() as conn:
        rollup.catch_up(conn, 10)
    rows = site.rows("SELECT hour, flow_min, flow_max, flow_sum, flow_count, readings FROM readings_hourly")
    assert rows == [
        {
            "hour": NOW - timedelta(hours=1),
            "flow_min": 2.0,
            "flow_max": 4.0,
            "flow_sum": 6.0,
            "flow_count": 2,
            "readings": 2,
        }
    ]


def changed_hours_of_a_batch(site) -> list[rollup.StaleHours]:
    """A batch in two runs of hours (10:00-11:00 and 12:00-13:00), summarised; the runs expected."""
    site.ingest(
        batch(
            [
                reading(1, "flow", NOW - timedelta(hours=3), 2.0),
                reading(2, "flow", NOW - timedelta(hours=2, minutes=50), 3.0),
                reading(3, "flow", NOW - timedelta(minutes=10), 4.0),
            ],
            NOW,
        )
    )
    with site.db.transaction() as conn:
        rollup.catch_up(conn, 10)
        point_id = conn.fetchval("SELECT id FROM points WHERE code = 'P1'")
    return [
        rollup.StaleHours(point_id, NOW - timedelta(hours=3), NOW - timedelta(hours=2)),
        rollup.StaleHours(point_id, NOW - timedelta(hours=1), NOW),
    ]


def test_the_hours_whose_readings_changed_are_handed_over_once(site):
    expected = changed_hours_of_a_batch(site)
    with site.db.transaction() as conn:
        first = rollup.take_changed(conn, 10)
    with site.db.transaction() as conn:
        second = rollup.take_changed(conn, 10)
    assert (first, second) == (expected, [])


def test_changed_hours_taken_in_a_transaction_that_fails_stay_for_the_next_taker(site):
    expected = changed_hours_of_a_batch(site)
    with pytest.raises(RuntimeError), site.db.transaction() as conn:
        rollup.take_changed(conn, 10)
        raise RuntimeError("the taker failed")
    with site.db.transaction() as conn:
        assert rollup.take_changed(conn, 10) == expected


@pytest.mark.parametrize(
    ("bucket", "tz", "interval_s", "expected"),
    [
        ("hour", "Asia/Kolkata", 60, True),
        ("day", "America/Santiago", 300, True),
        ("day", "Asia/Kolkata", 60, False),
        ("month", "America/St_Johns", 60, False),
        ("hour", "America/Santiago", 30, False),
        ("day", "America/Santiago", 7200, False),
        ("hour", "UTC", 420, False),
    ],
)
def test_summaries_are_used_only_where_they_are_exact(bucket, tz, interval_s, expected):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert rollup.usable(bucket, ZoneInfo(tz), start, start + timedelta(days=40), interval_s) is expected


@pytest.mark.parametrize(
    ("mask", "interval_s", "expected"),
    [
        (0, 60, 0),
        ((1 << 60) - 1, 60, 60),
        ((1 << 60) - 1, 600, 6),
        (0b1, 600, 1),
        (1 << 59, 600, 1),
        (0b10000000001, 300, 2),
        (0b1000000000001, 300, 2),
        (0b111111, 3600, 1),
    ],
)
def test_covered_slots_from_the_minute_mask(mask, interval_s, expected):
    assert rollup.covered_slots(mask, interval_s) == expected


def test_hours_group_into_runs():
    h = [datetime(2026, 1, 1, hour, tzinfo=UTC) for hour in (5, 3, 4, 9, 4)]
    assert rollup.hour_runs(h) == [(h[1], h[0] + timedelta(hours=1)), (h[3], h[3] + timedelta(hours=1))]


def test_a_zone_with_half_hour_offsets_reads_the_readings(site):
    site.ingest(
        batch(
            [reading(1, "flow", NOW - timedelta(hours=3), 2.0), reading(2, "flow", NOW - timedelta(hours=2), 6.0)], NOW
        )
    )
    response = site.aggregates("2026-11-28T09:00:00Z", "2026-11-28T12:00:00Z", bucket="day", tz="Asia/Kolkata")
    item = response.json()["items"][0]
    assert (item["start"], item["flow_min_lps"], item["flow_max_lps"], item["flow_avg_lps"]) == (
        "2026-11-28T00:00:00+05:30",
        2.0,
        6.0,
        4.0,
    )


@pytest.mark.parametrize(("bucket", "interval_s"), [("hour", 60), ("day", 300)])
def test_the_apis_aggregates_are_those_computed_from_the_readings(site, bucket, interval_s):
    """Over HTTP (hourly summaries, the answer encoded by msgspec) against the same buckets
    computed from the stored readings, written as the API writes them."""
    readings = two_days(seed=11)
    for first in range(0, len(readings), 997):
        assert site.ingest(batch(readings[first : first + 997], NOW)).status_code == 200
    first, last = NOW - timedelta(days=2, hours=5), NOW
    answer = site.aggregates(first.isoformat(), last.isoformat(), bucket=bucket, interval_s=interval_s)
    buckets = spans(first, last, bucket, SANTIAGO, 1000)
    with site.db.connect() as conn:
        point_id = conn.fetchval("SELECT id FROM points WHERE code = 'P1'")
        expected = from_readings(conn, point_id, bucket, SANTIAGO, buckets, interval_s)
    written = [
        {
            **item,
            "start": item["start"].astimezone(SANTIAGO).isoformat(),
            "end": item["end"].astimezone(SANTIAGO).isoformat(),
        }
        for item in expected
    ]
    assert answer.json() == {
        "point": "P1",
        "bucket": bucket,
        "tz": "America/Santiago",
        "interval_s": interval_s,
        "items": approx(written),
    }
