"""``GET /api/v1/audit``: the trail of configuration changes, newest first, by subject."""

from __future__ import annotations

from tests.central.core_support import add_user

AUDIT = "/api/v1/audit"


def _configure(client, admin, clock):
    client.post("/api/v1/points", json={"code": "P1", "name": "Pozo", "kind": "subterranea"}, headers=admin)
    clock.advance(60)
    client.patch("/api/v1/points/P1", json={"status": "maintenance"}, headers=admin)
    client.post("/api/v1/gateways", json={"name": "olivo", "points": ["P1"]}, headers=admin)


def test_the_trail_of_one_subject_newest_first(app_client, clock):
    admin = add_user(app_client, "root", admin=True)
    _configure(app_client, admin, clock)
    page = app_client.get(AUDIT, params={"subject": "point:P1"}, headers=admin).json()
    for item in page["items"]:
        assert isinstance(item.pop("id"), int)
    assert page == {
        "total": 2,
        "limit": 50,
        "offset": 0,
        "next_cursor": None,
        "items": [
            {
                "at": "2026-11-28T13:01:00Z",
                "actor": "root",
                "action": "point.changed",
                "subject": "point:P1",
                "detail": {"status": "maintenance"},
            },
            {
                "at": "2026-11-28T13:00:00Z",
                "actor": "root",
                "action": "point.created",
                "subject": "point:P1",
                "detail": {
                    "code": "P1",
                    "name": "Pozo",
                    "kind": "subterranea",
                    "latitude": None,
                    "longitude": None,
                    "water_right_lps": None,
                    "sensor_depth_m": None,
                    "flow_cutoff_lps": 0.0,
                    "status": "active",
                },
            },
        ],
    }


def test_the_trail_filters_by_action_and_pages(app_client, clock):
    admin = add_user(app_client, "root", admin=True)
    _configure(app_client, admin, clock)
    page = app_client.get(AUDIT, params={"limit": 1, "offset": 1}, headers=admin).json()
    assert ([item["action"] for item in page["items"]], page["total"]) == (["point.changed"], 4)
    gateway = app_client.get(AUDIT, params={"action": "gateway.created"}, headers=admin).json()
    assert [(item["subject"], item["detail"]) for item in gateway["items"]] == [("gateway:olivo", {"points": ["P1"]})]


def test_the_trail_is_for_admins_only(app_client):
    ana = add_user(app_client, "ana")
    assert app_client.get(AUDIT, headers=ana).status_code == 403
