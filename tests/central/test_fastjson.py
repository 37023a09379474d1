"""The routes that answer with msgspec-encoded JSON write what their pydantic response model would."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from central.fastjson import FastJSONResponse
from central.telemetry.models import AggregatesOut, ReadingsPage
from tests.central.telemetry_support import batch, reading

SANTIAGO = ZoneInfo("America/Santiago")
READING = {
    "ts": datetime(2026, 11, 28, 12, 0, tzinfo=UTC),
    "variable": "flow",
    "value": 7.25,
    "raw_value": None,
    "unit": "L/s",
    "quality": "good",
    "flags": [],
}
BUCKET = {
    "start": datetime(2026, 11, 28, 12, tzinfo=SANTIAGO),
    "end": datetime(2026, 11, 28, 13, tzinfo=SANTIAGO),
    "flow_min_lps": 0.0,
    "flow_max_lps": 12.5,
    "flow_avg_lps": 3.333333,
    "level_min_m": None,
    "level_max_m": None,
    "water_table_min_m": None,
    "water_table_max_m": None,
    "volume_m3": 1e16,
    "readings": 180,
    "missing_minutes": 0.0,
}
READINGS = [
    {"ts": datetime(2026, 11, 28, 12, 0, 0, 123, tzinfo=UTC)},
    {"ts": datetime(2026, 11, 28, 12, 0, 0, 500000, tzinfo=UTC), "value": None, "quality": "timeout"},
    {"ts": datetime(2026, 11, 28, 9, 0, tzinfo=timezone(timedelta(hours=-3)))},
    {"value": -0.0, "raw_value": 0.2, "flags": ["cutoff", "derived"]},
    {"value": 1e-7},
    {"value": 183402.7},
    {"value": 1.7976931348623157e308},
    {"variable": "caudal ñ", "unit": "m³"},
]
BUCKETS = [
    {},
    {"start": datetime(2026, 9, 6, 3, tzinfo=UTC).astimezone(SANTIAGO)},
    {"volume_m3": None},
    {"flow_avg_lps": 0.1 + 0.2},
    {"missing_minutes": 2.5},
]


def _same(document: dict, model: type) -> None:
    fast = json.loads(FastJSONResponse(document).body)
    assert fast == json.loads(model.model_validate(document).model_dump_json())


@pytest.mark.parametrize("changed", READINGS)
def test_a_readings_page_is_written_as_its_model_writes_it(changed):
    _same(
        {"items": [{**READING, **changed}], "total": None, "limit": 1000, "offset": 0, "next_cursor": "abc"},
        ReadingsPage,
    )


@pytest.mark.parametrize("changed", BUCKETS)
def test_aggregates_are_written_as_their_model_writes_them(changed):
    _same(
        {"point": "P1", "bucket": "hour", "tz": "America/Santiago", "interval_s": 60, "items": [{**BUCKET, **changed}]},
        AggregatesOut,
    )


def test_the_readings_route_answers_its_documented_model(site):
    readings = [
        reading(1, "flow", datetime(2026, 11, 28, 12, tzinfo=UTC), 0.2),
        reading(2, "level", datetime(2026, 11, 28, 12, 0, 30, 250000, tzinfo=UTC), 20.0),
    ]
    assert site.ingest(batch(readings, datetime(2026, 11, 28, 13, tzinfo=UTC))).status_code == 200
    answer = site.get("/api/v1/points/P1/readings", from_="2026-11-28T12:00:00Z", limit=2, total="true")
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert ReadingsPage.model_validate(body).model_dump(mode="json") == body
    assert [item["ts"] for item in body["items"]] == ["2026-11-28T12:00:00Z", "2026-11-28T12:00:30.250000Z"]
