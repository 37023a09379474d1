"""Readings (JSON pages, cursor, CSV), latest values and meter changes, per user visibility."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from tests.central.telemetry_support import ANA_TOKEN, batch, noon_readings, reading

NOW = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)
T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture
def loaded(site):
    readings = [*noon_readings(10.0, 9.0), reading(7, "flow", T0, 3.0, point="P2")]
    assert site.ingest(batch(readings, NOW)).status_code == 200
    return site


def test_readings_as_csv(loaded):
    response = loaded.get(
        "/api/v1/points/P1/readings", from_="2026-11-28T12:00:00Z", to="2026-11-28T13:00:00Z", format="csv"
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text == (
        "ts,variable,value,unit,quality,flags,raw_value\n"
        "2026-11-28T12:00:00Z,flow,0.0,L/s,good,cutoff,0.2\n"
        "2026-11-28T12:00:00Z,level,20.0,m,good,,\n"
        "2026-11-28T12:00:00Z,water_table,30.0,m,good,derived,\n"
        "2026-11-28T12:01:00Z,flow,7.25,L/s,good,,\n"
        "2026-11-28T12:01:00Z,totalizer,10.0,m3,good,,\n"
        "2026-11-28T12:02:00Z,level,,m,timeout,,\n"
        "2026-11-28T12:02:00Z,totalizer,9.0,m3,good,reset,\n"
        "2026-11-28T12:02:00Z,water_table,,m,timeout,derived,\n"
    )


def test_readings_as_a_json_page_of_one_variable(loaded):
    response = loaded.get("/api/v1/points/P1/readings", variable="flow", from_="2026-11-28T12:00:00Z")
    assert response.json() == {
        "items": [
            {
                "ts": "2026-11-28T12:00:00Z",
                "variable": "flow",
                "value": 0.0,
                "raw_value": 0.2,
                "unit": "L/s",
                "quality": "good",
                "flags": ["cutoff"],
            },
            {
                "ts": "2026-11-28T12:01:00Z",
                "variable": "flow",
                "value": 7.25,
                "raw_value": None,
                "unit": "L/s",
                "quality": "good",
                "flags": [],
            },
        ],
        "total": None,
        "limit": 1000,
        "offset": 0,
        "next_cursor": None,
    }


@pytest.mark.parametrize(
    ("asked", "total"),
    [
        ({}, None),
        ({"total": "false"}, None),
        ({"total": "true"}, 8),
        ({"total": "true", "variable": "flow"}, 2),
        ({"total": "true", "to": "2026-11-28T12:01:00Z"}, 3),
    ],
)
def test_the_total_is_counted_over_the_whole_range_only_when_asked(loaded, asked, total):
    body = loaded.get("/api/v1/points/P1/readings", from_="2026-11-28T12:00:00Z", limit=2, **asked).json()
    assert (body["total"], len(body["items"])) == (total, 2)


def _walk(site, limit: int, between=None) -> list[tuple[str, str]]:
    """Every page by cursor from 12:00; ``between`` runs once, after the first page."""
    seen, cursor = [], None
    while True:
        params = {"from_": "2026-11-28T12:00:00Z", "limit": limit, **({"cursor": cursor} if cursor else {})}
        body = site.get("/api/v1/points/P1/readings", **params).json()
        assert len(body["items"]) <= limit and body["offset"] == 0
        seen += [(item["ts"][11:16], item["variable"]) for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
        if between is not None:
            between()
            between = None


ALL = [
    ("12:00", "flow"),
    ("12:00", "level"),
    ("12:00", "water_table"),
    ("12:01", "flow"),
    ("12:01", "totalizer"),
    ("12:02", "level"),
    ("12:02", "totalizer"),
    ("12:02", "water_table"),
]


@pytest.mark.parametrize("limit", [1, 3, 4, 8, 9])
def test_walking_readings_with_the_cursor_visits_each_once_in_order(loaded, limit):
    assert _walk(loaded, limit) == ALL


def test_the_last_page_has_no_cursor_even_when_it_is_full(loaded):
    body = loaded.get("/api/v1/points/P1/readings", from_="2026-11-28T12:00:00Z", limit=8).json()
    assert (len(body["items"]), body["next_cursor"]) == (8, None)


def test_a_walk_sees_readings_stored_after_its_cursor_while_it_walks_and_none_twice(loaded):
    """A batch arrives between two pages: its readings after the cursor show up once, in
    order; one behind the cursor (a late reading of 12:00) is not in this walk."""

    def arrive() -> None:
        late = [
            reading(8, "totalizer", T0, 5.0),
            reading(9, "flow", T0 + timedelta(minutes=1, seconds=30), 6.0),
            reading(10, "flow", T0 + timedelta(minutes=3), 6.5),
        ]
        assert loaded.ingest(batch(late, NOW)).json()["stored"] == 3

    assert _walk(loaded, 3, arrive) == ALL[:5] + [("12:01", "flow")] + ALL[5:] + [("12:03", "flow")]


BAD_CURSORS = [
    "bm9wZQ",
    "%%%",
    "",
    base64.urlsafe_b64encode(b"2026-11-28T12:00:00|flow").decode(),
    base64.urlsafe_b64encode(b"2026-11-28T12:00:00-03:00|flow").decode(),
    base64.urlsafe_b64encode(b"\xff\xfe|flow").decode(),
]


@pytest.mark.parametrize("cursor", BAD_CURSORS)
def test_a_cursor_the_server_did_not_give_is_a_422_in_spanish_that_changes_nothing(loaded, cursor):
    response = loaded.get("/api/v1/points/P1/readings", cursor=cursor)
    assert (response.status_code, response.json()) == (
        422,
        {
            "error": {
                "status": 422,
                "code": "invalid_cursor",
                "message": f"cursor {cursor!r} no es uno que haya entregado este servidor: use el next_cursor de la página"
                " anterior, o ninguno para la primera página",
            }
        },
    )
    assert len(loaded.stored()) == 9


def test_readings_are_not_paged_by_offset(loaded):
    response = loaded.get("/api/v1/points/P1/readings", offset=3)
    assert (response.status_code, response.json()["error"]["code"]) == (422, "unknown_parameter")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/points/P2/readings",
        "/api/v1/points/P2/aggregates",
        "/api/v1/points/P2/meter-changes",
        "/api/v1/points/NOPE/readings",
    ],
)
def test_a_user_reading_a_point_that_is_not_theirs_gets_404(loaded, path):
    response = loaded.get(path, token=ANA_TOKEN)
    assert response.status_code == 404


def test_readings_need_a_user_token(loaded):
    assert loaded.client.get("/api/v1/points/P1/readings").status_code == 401


def test_latest_lists_the_newest_reading_per_variable_of_the_visible_points(loaded):
    response = loaded.get("/api/v1/latest", token=ANA_TOKEN)
    assert response.json() == {
        "total": 1,
        "limit": 50,
        "offset": 0,
        "next_cursor": None,
        "items": [
            {
                "point": "P1",
                "name": "P1",
                "variables": {
                    "flow": {
                        "ts": "2026-11-28T12:01:00Z",
                        "value": 7.25,
                        "unit": "L/s",
                        "quality": "good",
                        "flags": [],
                        "age_s": 3540.0,
                    },
                    "level": {
                        "ts": "2026-11-28T12:02:00Z",
                        "value": None,
                        "unit": "m",
                        "quality": "timeout",
                        "flags": [],
                        "age_s": 3480.0,
                    },
                    "totalizer": {
                        "ts": "2026-11-28T12:02:00Z",
                        "value": 9.0,
                        "unit": "m3",
                        "quality": "good",
                        "flags": ["reset"],
                        "age_s": 3480.0,
                    },
                    "water_table": {
                        "ts": "2026-11-28T12:02:00Z",
                        "value": None,
                        "unit": "m",
                        "quality": "timeout",
                        "flags": ["derived"],
                        "age_s": 3480.0,
                    },
                },
            }
        ],
    }


def test_latest_for_an_admin_lists_every_point_and_never_moves_back(loaded):
    loaded.ingest(batch([reading(9, "flow", T0 - timedelta(hours=1), 1.0, point="P2")], NOW))
    body = loaded.get("/api/v1/latest").json()["items"]
    assert [(p["point"], sorted(p["variables"])) for p in body] == [
        ("P1", ["flow", "level", "totalizer", "water_table"]),
        ("P2", ["flow"]),
        ("P3", []),
    ]
    assert body[1]["variables"]["flow"]["value"] == 3.0


def test_latest_pages_the_points_by_code(loaded):
    body = loaded.get("/api/v1/latest", limit=1, offset=1).json()
    assert ([(p["point"], sorted(p["variables"])) for p in body["items"]], body["total"]) == ([("P2", ["flow"])], 3)


def test_a_meter_change_is_recorded_with_its_audit_row(site):
    response = site.post(
        "/api/v1/points/P1/meter-changes",
        {"ts": "2026-11-28T09:25:00-03:00", "old_final_m3": 4.5, "new_base_m3": 0.0, "note": "new meter"},
        token=ANA_TOKEN,
    )
    assert response.status_code == 201
    assert {k: v for k, v in response.json().items() if k != "id"} == {
        "ts": "2026-11-28T12:25:00Z",
        "old_final_m3": 4.5,
        "new_base_m3": 0.0,
        "note": "new meter",
        "recorded_by": "ana",
        "recorded_at": "2026-11-28T13:00:00Z",
    }
    listed = site.get("/api/v1/points/P1/meter-changes").json()
    assert (listed["total"], listed["items"]) == (1, [response.json()])
    audit = site.rows("SELECT actor, action, subject FROM audit_log")
    assert audit == [{"actor": "ana", "action": "meter_change.recorded", "subject": "point:P1"}]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"ts": "2026-11-28T14:00:00Z", "new_base_m3": 0.0}, 422, "está en el futuro"),
        ({"ts": "2026-11-28T11:00:00Z", "new_base_m3": -1.0}, 422, "new_base_m3"),
        ({"ts": "2026-11-28T11:00:00", "new_base_m3": 0.0}, 422, "ts"),
        ({"ts": "2026-11-28T10:00:00Z", "new_base_m3": 0.0}, 409, "registrado a las"),
    ],
)
def test_a_bad_meter_change_is_refused_and_nothing_is_recorded(site, body, status, message):
    site.post("/api/v1/points/P1/meter-changes", {"ts": "2026-11-28T10:00:00Z", "new_base_m3": 5.0})
    response = site.post("/api/v1/points/P1/meter-changes", body)
    assert response.status_code == status
    assert message in response.json()["error"]["message"]
    assert len(site.rows("SELECT id FROM meter_changes")) == 1
    assert len(site.rows("SELECT id FROM audit_log")) == 1


def test_a_meter_change_on_a_point_the_user_does_not_see_is_404(site):
    response = site.post(
        "/api/v1/points/P2/meter-changes", {"ts": "2026-11-28T10:00:00Z", "new_base_m3": 0.0}, token=ANA_TOKEN
    )
    assert response.status_code == 404
    assert site.rows("SELECT id FROM meter_changes") == []
