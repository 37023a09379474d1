"""GET /api/v1/points/{code}/aggregates over a small hand-computed series.

P1 has its sensor at 50 m and a 0.5 L/s cut-off; readings every 10 minutes (interval_s=600).

| UTC   | flow          | totalizer               | level (water table) |
|-------|---------------|-------------------------|---------------------|
| 09:50 |               | 100.0                   |                     |
| 10:00 | 2.0           | 101.0  (+1.0)           | 20 (30)             |
| 10:10 | 4.0           | 102.5  (+1.5)           | 21 (29)             |
| 10:20 | 0.2 -> 0.0    | 102.5  (0)              | 22 (28)             |
| 10:30 | timeout       | timeout                 | timeout             |
| 10:40 | (nothing)     |                         |                     |
| 10:50 | 6.0           | 104.0  (+1.5)           |                     |
| 11:00 | 5.0           | 105.0  (+1.0)           |                     |
| 11:10 |               | 3.0    (reset: 0)       |                     |
| 11:20 |               | 4.0    (+1.0)           |                     |
| 11:25 | meter swap: old meter ended at 4.5, new one starts at 0.0           |
| 11:30 |               | 0.5    (0.5 + 0.5)      |                     |
| 11:40 |               | 2.0    (+1.5)           |                     |
| 11:50 | -0.3 -> 0.0   |                         |                     |
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.central.telemetry_support import ANA_TOKEN, batch, bucket, reading

NOW = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)


def at(hhmm: str) -> datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return datetime(2026, 11, 28, hours, minutes, tzinfo=UTC)


SERIES = [
    ("09:50", "totalizer", 100.0),
    ("10:00", "flow", 2.0),
    ("10:00", "totalizer", 101.0),
    ("10:00", "level", 20.0),
    ("10:10", "flow", 4.0),
    ("10:10", "totalizer", 102.5),
    ("10:10", "level", 21.0),
    ("10:20", "flow", 0.2),
    ("10:20", "totalizer", 102.5),
    ("10:20", "level", 22.0),
    ("10:30", "flow", None),
    ("10:30", "totalizer", None),
    ("10:30", "level", None),
    ("10:50", "flow", 6.0),
    ("10:50", "totalizer", 104.0),
    ("11:00", "flow", 5.0),
    ("11:00", "totalizer", 105.0),
    ("11:10", "totalizer", 3.0),
    ("11:20", "totalizer", 4.0),
    ("11:30", "totalizer", 0.5),
    ("11:40", "totalizer", 2.0),
    ("11:50", "flow", -0.3),
]


@pytest.fixture
def loaded(site):
    readings = [
        reading(i, variable, at(hhmm), value, quality="good" if value is not None else "timeout")
        for i, (hhmm, variable, value) in enumerate(SERIES, start=1)
    ]
    assert site.ingest(batch(readings, NOW)).json()["stored"] == len(SERIES)
    change = site.post(
        "/api/v1/points/P1/meter-changes",
        {"ts": "2026-11-28T11:25:00Z", "old_final_m3": 4.5, "new_base_m3": 0.0, "note": "swap"},
    )
    assert change.status_code == 201
    return site


def test_hourly_aggregates(loaded):
    response = loaded.aggregates("2026-11-28T10:00:00Z", "2026-11-28T13:00:00Z", bucket="hour", interval_s=600)
    assert response.status_code == 200
    assert response.json() == {
        "point": "P1",
        "bucket": "hour",
        "tz": "America/Santiago",
        "interval_s": 600,
        "items": [
            bucket(
                "2026-11-28T10:00:00Z",
                "2026-11-28T11:00:00Z",
                flow_min_lps=0.0,
                flow_max_lps=6.0,
                flow_avg_lps=3.0,
                volume_m3=4.0,
                level_min_m=20.0,
                level_max_m=22.0,
                water_table_min_m=28.0,
                water_table_max_m=30.0,
                readings=18,
                missing_minutes=20.0,
            ),
            bucket(
                "2026-11-28T11:00:00Z",
                "2026-11-28T12:00:00Z",
                flow_min_lps=0.0,
                flow_max_lps=5.0,
                flow_avg_lps=2.5,
                volume_m3=4.5,
                readings=7,
                missing_minutes=0.0,
            ),
            bucket("2026-11-28T12:00:00Z", "2026-11-28T13:00:00Z", readings=0, missing_minutes=60.0),
        ],
    }


def test_daily_aggregates_follow_the_santiago_calendar(loaded):
    response = loaded.aggregates("2026-11-28T12:00:00Z", "2026-11-28T12:30:00Z", bucket="day", interval_s=600)
    # 28 November in Santiago (UTC-3 in summer) is 03:00Z to 03:00Z; 10 h of it have passed at 13:00Z:
    # 60 slots, 11 with a value (09:50 ... 10:20, 10:50 ... 11:50)
    assert response.json()["items"] == [
        bucket(
            "2026-11-28T03:00:00Z",
            "2026-11-29T03:00:00Z",
            flow_min_lps=0.0,
            flow_max_lps=6.0,
            flow_avg_lps=2.833333,
            volume_m3=8.5,
            level_min_m=20.0,
            level_max_m=22.0,
            water_table_min_m=28.0,
            water_table_max_m=30.0,
            readings=26,
            missing_minutes=490.0,
        ),
    ]


def test_a_swap_recorded_without_the_old_final_count_loses_only_that_stretch(site):
    readings = [reading(1, "totalizer", at("11:20"), 4.0), reading(2, "totalizer", at("11:30"), 0.5)]
    site.ingest(batch(readings, NOW))
    site.post("/api/v1/points/P1/meter-changes", {"ts": "2026-11-28T11:25:00Z", "new_base_m3": 0.0})
    response = site.aggregates("2026-11-28T11:00:00Z", "2026-11-28T12:00:00Z", bucket="hour")
    assert response.json()["items"][0]["volume_m3"] == 0.5


def test_the_range_widens_to_whole_buckets(loaded):
    response = loaded.aggregates("2026-11-28T10:30:00Z", "2026-11-28T10:31:00Z", bucket="hour", interval_s=600)
    assert [(item["start"], item["end"]) for item in response.json()["items"]] == [
        ("2026-11-28T07:00:00-03:00", "2026-11-28T08:00:00-03:00")
    ]


def test_monthly_buckets_across_the_september_daylight_saving_change(site):
    response = site.aggregates("2026-08-15T00:00:00Z", "2026-09-15T00:00:00Z", bucket="month")
    assert [(item["start"], item["end"]) for item in response.json()["items"]] == [
        ("2026-08-01T00:00:00-04:00", "2026-09-01T00:00:00-04:00"),
        ("2026-09-01T00:00:00-04:00", "2026-10-01T00:00:00-03:00"),
    ]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"tz": "Mars/Olympus"}, "zona horaria desconocida 'Mars/Olympus'"),
        ({"bucket": "hour", "from_": "2020-01-01T00:00:00Z"}, "más de 20000 intervalos de una hora"),
        (
            {"from_": "2026-11-28T12:00:00Z", "to": "2026-11-28T11:00:00Z"},
            "from 2026-11-28T12:00:00Z no es anterior a to 2026-11-28T11:00:00Z",
        ),
    ],
)
def test_bad_aggregate_requests_are_422(site, params, message):
    response = site.get("/api/v1/points/P1/aggregates", **params)
    assert response.status_code == 422
    assert message in response.json()["error"]["message"]


def test_aggregates_of_a_point_the_user_does_not_see_are_404(site):
    assert site.get("/api/v1/points/P2/aggregates", token=ANA_TOKEN).status_code == 404
    assert site.get("/api/v1/points/P1/aggregates", token=ANA_TOKEN).status_code == 200


def test_hour_buckets_without_data_in_the_future_miss_nothing(site):
    response = site.aggregates("2026-11-28T13:00:00Z", (NOW + timedelta(hours=1)).isoformat(), bucket="hour")
    assert response.json()["items"] == [
        bucket("2026-11-28T13:00:00Z", "2026-11-28T14:00:00Z", readings=0, missing_minutes=0.0)
    ]
