"""Gateways: tokens shown once, rotation and revocation, one gateway per point, health."""

from __future__ import annotations

from datetime import timedelta

import pytest

from central.core.auth.service import gateway_for_token
from central.core.gateways.service import is_online
from tests.central.core_support import add_user, audit_rows, ctx_of

GATEWAYS = "/api/v1/gateways"


@pytest.fixture
def admin(app_client):
    headers = add_user(app_client, "root", admin=True)
    for code in ("OB-0101-12", "OB-0101-13", "canal-norte"):
        point = {"code": code, "name": code, "kind": "subterranea"}
        assert app_client.post("/api/v1/points", json=point, headers=headers).status_code == 201
    return headers


def _gateway_for(client, token):
    with ctx_of(client).db.connect() as conn:
        return gateway_for_token(conn, token)


def test_a_new_gateway_answers_its_token_once(app_client, admin):
    response = app_client.post(GATEWAYS, json={"name": "olivo", "points": ["OB-0101-13", "OB-0101-12"]}, headers=admin)
    assert response.status_code == 201
    body = response.json()
    token = body.pop("token")
    assert token.startswith("cau_g_")
    assert body == {
        "name": "olivo",
        "points": ["OB-0101-12", "OB-0101-13"],
        "online": False,
        "created_at": "2026-11-28T13:00:00Z",
        "token_created_at": "2026-11-28T13:00:00Z",
        "revoked_at": None,
        "last_seen_at": None,
        "clock_offset_s": None,
        "agent_version": None,
        "buffer_depth": None,
        "oldest_unsent_s": None,
        "dropped_total": None,
        "clock_synced": None,
    }
    assert _gateway_for(app_client, token).name == "olivo"
    assert token not in app_client.get(f"{GATEWAYS}/olivo", headers=admin).text
    assert token not in app_client.get(GATEWAYS, headers=admin).text
    assert audit_rows(app_client, "gateway:olivo") == [("root", "gateway.created", "gateway:olivo")]


def test_a_rotated_token_replaces_the_old_one_at_once(app_client, admin):
    old = app_client.post(GATEWAYS, json={"name": "olivo", "points": []}, headers=admin).json()["token"]
    rotated = app_client.post(f"{GATEWAYS}/olivo/rotate-token", headers=admin)
    assert rotated.status_code == 200
    new = rotated.json()["token"]
    assert (_gateway_for(app_client, old), _gateway_for(app_client, new).name) == (None, "olivo")
    assert audit_rows(app_client, "gateway:olivo")[-1] == ("root", "gateway.token_rotated", "gateway:olivo")


def test_a_revoked_gateway_token_is_refused_until_rotated(app_client, admin):
    token = app_client.post(GATEWAYS, json={"name": "olivo"}, headers=admin).json()["token"]
    revoked = app_client.post(f"{GATEWAYS}/olivo/revoke", headers=admin).json()
    assert (revoked["revoked_at"], revoked["online"]) == ("2026-11-28T13:00:00Z", False)
    assert _gateway_for(app_client, token) is None
    new = app_client.post(f"{GATEWAYS}/olivo/rotate-token", headers=admin).json()["token"]
    assert _gateway_for(app_client, new).name == "olivo"
    assert app_client.get(f"{GATEWAYS}/olivo", headers=admin).json()["revoked_at"] is None


def test_a_point_of_another_gateway_is_a_409_naming_it(app_client, admin):
    app_client.post(GATEWAYS, json={"name": "olivo", "points": ["OB-0101-12"]}, headers=admin)
    response = app_client.post(GATEWAYS, json={"name": "sauce", "points": ["OB-0101-13", "OB-0101-12"]}, headers=admin)
    assert response.status_code == 409
    assert response.json()["error"] == {
        "status": 409,
        "code": "conflict",
        "message": "el punto 'OB-0101-12' pertenece al gateway 'olivo'; quítelo primero de allí",
        "details": [{"point": "OB-0101-12", "gateway": "olivo"}],
    }
    assert app_client.get(f"{GATEWAYS}/sauce", headers=admin).status_code == 404
    assert [row[2] for row in audit_rows(app_client) if row[1].startswith("gateway.")] == ["gateway:olivo"]


def test_changing_points_replaces_the_list_and_frees_the_old_ones(app_client, admin):
    app_client.post(GATEWAYS, json={"name": "olivo", "points": ["OB-0101-12"]}, headers=admin)
    app_client.post(GATEWAYS, json={"name": "sauce"}, headers=admin)
    moved = app_client.patch(f"{GATEWAYS}/olivo", json={"points": ["canal-norte"]}, headers=admin)
    assert moved.json()["points"] == ["canal-norte"]
    taken = app_client.patch(f"{GATEWAYS}/sauce", json={"points": ["OB-0101-12"]}, headers=admin)
    assert taken.json()["points"] == ["OB-0101-12"]
    assert app_client.get("/api/v1/points/OB-0101-12", headers=admin).json()["gateway"] == "sauce"


def test_an_unknown_point_is_a_422_naming_it(app_client, admin):
    response = app_client.post(GATEWAYS, json={"name": "olivo", "points": ["NOPE"]}, headers=admin)
    assert (response.status_code, response.json()["error"]["message"]) == (
        422,
        "points: no hay un punto con código 'NOPE'",
    )


def test_a_taken_name_is_a_409(app_client, admin):
    app_client.post(GATEWAYS, json={"name": "olivo"}, headers=admin)
    response = app_client.post(GATEWAYS, json={"name": "olivo"}, headers=admin)
    assert (response.status_code, response.json()["error"]["message"]) == (409, "ya existe un gateway llamado 'olivo'")


def test_gateways_are_for_admins_only(app_client, admin):
    ana = add_user(app_client, "ana")
    assert app_client.get(GATEWAYS, headers=ana).status_code == 403
    assert app_client.post(GATEWAYS, json={"name": "x"}, headers=ana).status_code == 403


def test_the_health_columns_written_by_the_ingest_show_with_online_status(app_client, admin, clock, settings):
    app_client.post(GATEWAYS, json={"name": "olivo"}, headers=admin)
    with ctx_of(app_client).db.transaction() as conn:
        conn.execute(
            "UPDATE gateways SET last_seen_at = :t, clock_offset_s = 0.4, agent_version = '0.1.0', buffer_depth = 12,"
            " oldest_unsent_s = 30.5, dropped_total = 0, clock_synced = TRUE WHERE name = 'olivo'",
            {"t": clock.now()},
        )
    clock.advance(settings.gateway_offline_after_s)
    page = app_client.get(GATEWAYS, headers=admin).json()
    seen = {
        key: page["items"][0][key]
        for key in (
            "last_seen_at",
            "clock_offset_s",
            "agent_version",
            "buffer_depth",
            "oldest_unsent_s",
            "dropped_total",
            "clock_synced",
            "online",
        )
    }
    assert seen == {
        "last_seen_at": "2026-11-28T13:00:00Z",
        "clock_offset_s": 0.4,
        "agent_version": "0.1.0",
        "buffer_depth": 12,
        "oldest_unsent_s": 30.5,
        "dropped_total": 0,
        "clock_synced": True,
        "online": True,
    }
    clock.advance(1)
    assert app_client.get(f"{GATEWAYS}/olivo", headers=admin).json()["online"] is False


@pytest.mark.parametrize(
    ("seen_ago_s", "revoked", "online"),
    [(None, False, False), (0, False, True), (900, False, True), (900.5, False, False), (0, True, False)],
)
def test_online_means_heard_from_recently_and_not_revoked(clock, seen_ago_s, revoked, online):
    now = clock.now()
    last_seen = None if seen_ago_s is None else now - timedelta(seconds=seen_ago_s)
    assert is_online(last_seen, now if revoked else None, now, offline_after_s=900) is online
