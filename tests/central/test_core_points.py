"""Catchment points: validation, who sees which, changes audited in the same transaction."""

from __future__ import annotations

import pytest

from central.core.points.models import POINT_EXAMPLE
from tests.central.core_support import add_user, audit_rows

POINTS = "/api/v1/points"


# Refused by the request schema before any SQL runs: one database is enough.
SCHEMA_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _create(client, headers, **overrides):
    """POST the API documentation's example point (so the example stays one the API accepts)."""
    return client.post(POINTS, json={**POINT_EXAMPLE, **overrides}, headers=headers)


def test_an_admin_creates_a_point(app_client):
    admin = add_user(app_client, "root", admin=True)
    response = _create(app_client, admin)
    assert response.status_code == 201
    assert response.json() == {
        **POINT_EXAMPLE,
        "id": response.json()["id"],
        "gateway": None,
        "created_at": "2026-11-28T13:00:00Z",
        "updated_at": "2026-11-28T13:00:00Z",
    }
    assert audit_rows(app_client) == [("root", "point.created", "point:OB-0101-12")]


def test_only_code_name_and_kind_are_required(app_client):
    admin = add_user(app_client, "root", admin=True)
    response = app_client.post(
        POINTS, json={"code": "canal-norte", "name": "Canal", "kind": "superficial"}, headers=admin
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["latitude"], body["water_right_lps"], body["flow_cutoff_lps"], body["status"]) == (
        None,
        None,
        0.0,
        "active",
    )


def test_a_non_admin_cannot_create_a_point(app_client):
    ana = add_user(app_client, "ana")
    response = _create(app_client, ana)
    assert (response.status_code, response.json()["error"]["message"]) == (403, "esto requiere un administrador")


def test_a_duplicate_code_is_a_409_and_writes_no_audit_row(app_client):
    admin = add_user(app_client, "root", admin=True)
    assert _create(app_client, admin).status_code == 201
    response = _create(app_client, admin, name="Otro")
    assert (response.status_code, response.json()["error"]["message"]) == (
        409,
        "ya existe un punto con código 'OB-0101-12'",
    )
    assert audit_rows(app_client) == [("root", "point.created", "point:OB-0101-12")]


@SCHEMA_ONLY
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"code": "has space"}, "body.code: no tiene la forma esperada"),
        ({"code": "-leading"}, "body.code: no tiene la forma esperada"),
        ({"code": "OB-12-3"}, "body.code: 'OB-12-3' empieza como un codigoObra de la DGA"),
        ({"name": ""}, "body.name: debe tener al menos 1 carácter(es)"),
        ({"kind": "rio"}, "body.kind: debe ser 'subterranea', 'superficial'"),
        ({"latitude": -91}, "body.latitude: debe ser mayor o igual que -90"),
        ({"longitude": 181}, "body.longitude: debe ser menor o igual que 180"),
        ({"longitude": None}, "body: latitude y longitude van juntas"),
        ({"water_right_lps": -1}, "body.water_right_lps: debe ser mayor o igual que 0"),
        ({"sensor_depth_m": "deep"}, "body.sensor_depth_m: debe ser un número"),
        ({"status": "broken"}, "body.status: debe ser 'active', 'inactive' o 'maintenance'"),
        ({"owner": "x"}, "body.owner: campo desconocido"),
    ],
)
def test_bad_point_input_is_a_422_naming_the_field(app_client, overrides, message):
    admin = add_user(app_client, "root", admin=True)
    response = _create(app_client, admin, **overrides)
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith(message)
    assert app_client.get(POINTS, headers=admin).json()["total"] == 0


def test_a_user_sees_a_point_only_once_granted(app_client):
    admin = add_user(app_client, "root", admin=True)
    ana = add_user(app_client, "ana")
    _create(app_client, admin)
    hidden = app_client.get(f"{POINTS}/OB-0101-12", headers=ana)
    assert (hidden.status_code, hidden.json()["error"]["message"]) == (404, "no hay un punto con código 'OB-0101-12'")
    assert app_client.put(f"{POINTS}/OB-0101-12/users/ana", headers=admin).status_code == 204
    assert app_client.get(f"{POINTS}/OB-0101-12", headers=ana).json()["name"] == "Pozo 1 Fundo El Olivo"
    assert app_client.delete(f"{POINTS}/OB-0101-12/users/ana", headers=admin).status_code == 204
    assert app_client.get(f"{POINTS}/OB-0101-12", headers=ana).status_code == 404
    assert audit_rows(app_client, "point:OB-0101-12")[1:] == [
        ("root", "point.access_granted", "point:OB-0101-12"),
        ("root", "point.access_revoked", "point:OB-0101-12"),
    ]


def test_granting_twice_is_one_change(app_client):
    admin = add_user(app_client, "root", admin=True)
    add_user(app_client, "ana")
    _create(app_client, admin)
    for _ in range(2):
        assert app_client.put(f"{POINTS}/OB-0101-12/users/ana", headers=admin).status_code == 204
    assert app_client.get(f"{POINTS}/OB-0101-12/users", headers=admin).json() == {
        "items": ["ana"],
        "total": 1,
        "limit": 50,
        "offset": 0,
        "next_cursor": None,
    }
    assert [row[1] for row in audit_rows(app_client)].count("point.access_granted") == 1


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/api/v1/points/NOPE/users/ana", "no hay un punto con código 'NOPE'"),
        ("/api/v1/points/OB-0101-12/users/ghost", "no hay un usuario llamado 'ghost'"),
    ],
)
def test_granting_an_unknown_point_or_user_is_a_404(app_client, path, message):
    admin = add_user(app_client, "root", admin=True)
    add_user(app_client, "ana")
    _create(app_client, admin)
    response = app_client.put(path, headers=admin)
    assert (response.status_code, response.json()["error"]["message"]) == (404, message)


def test_the_list_holds_only_visible_points_filtered_and_paged(app_client):
    admin = add_user(app_client, "root", admin=True)
    ana = add_user(app_client, "ana")
    for code, kind, status in [
        ("A1", "subterranea", "active"),
        ("B2", "superficial", "active"),
        ("C3", "subterranea", "maintenance"),
        ("D4", "subterranea", "active"),
    ]:
        assert _create(app_client, admin, code=code, kind=kind, status=status).status_code == 201
    for code in ("A1", "C3", "D4"):
        app_client.put(f"{POINTS}/{code}/users/ana", headers=admin)

    def codes(headers, **params):
        page = app_client.get(POINTS, params=params, headers=headers).json()
        return [item["code"] for item in page["items"]], page["total"]

    assert codes(admin) == (["A1", "B2", "C3", "D4"], 4)
    assert codes(ana) == (["A1", "C3", "D4"], 3)
    assert codes(ana, kind="subterranea", status="active") == (["A1", "D4"], 2)
    assert codes(ana, limit=1, offset=1) == (["C3"], 3)


def test_a_partial_change_keeps_the_other_fields(app_client):
    admin = add_user(app_client, "root", admin=True)
    _create(app_client, admin)
    response = app_client.patch(
        f"{POINTS}/OB-0101-12", json={"status": "maintenance", "sensor_depth_m": None}, headers=admin
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["sensor_depth_m"], body["water_right_lps"], body["name"]) == (
        "maintenance",
        None,
        25.0,
        "Pozo 1 Fundo El Olivo",
    )
    assert audit_rows(app_client)[-1] == ("root", "point.changed", "point:OB-0101-12")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": None}, "body.name: debe ser texto"),
        ({"latitude": None}, "body: latitude y longitude van juntas: dé las dos o ninguna"),
        ({"flow_cutoff_lps": -0.1}, "body.flow_cutoff_lps: debe ser mayor o igual que 0"),
        ({"code": "OB-0101-13"}, "body.code: campo desconocido"),
    ],
)
def test_a_bad_change_is_a_422_and_changes_nothing(app_client, change, message):
    admin = add_user(app_client, "root", admin=True)
    before = _create(app_client, admin).json()
    response = app_client.patch(f"{POINTS}/OB-0101-12", json=change, headers=admin)
    assert (response.status_code, response.json()["error"]["message"]) == (422, message)
    assert app_client.get(f"{POINTS}/OB-0101-12", headers=admin).json() == before
    assert [row[1] for row in audit_rows(app_client)] == ["point.created"]


def test_a_non_admin_cannot_change_or_delete_a_granted_point(app_client):
    admin = add_user(app_client, "root", admin=True)
    ana = add_user(app_client, "ana")
    _create(app_client, admin)
    app_client.put(f"{POINTS}/OB-0101-12/users/ana", headers=admin)
    assert app_client.patch(f"{POINTS}/OB-0101-12", json={"name": "x"}, headers=ana).status_code == 403
    assert app_client.delete(f"{POINTS}/OB-0101-12", headers=ana).status_code == 403


def test_deleting_a_point_removes_it_and_is_audited(app_client):
    admin = add_user(app_client, "root", admin=True)
    _create(app_client, admin)
    assert app_client.delete(f"{POINTS}/OB-0101-12", headers=admin).status_code == 204
    assert app_client.get(f"{POINTS}/OB-0101-12", headers=admin).status_code == 404
    assert audit_rows(app_client)[-1] == ("root", "point.deleted", "point:OB-0101-12")


def test_an_accounts_points_are_replaced_at_once_each_change_audited(app_client):
    admin = add_user(app_client, "root", admin=True)
    ana = add_user(app_client, "ana")
    for code in ("OB-0101-12", "OB-0101-13", "OB-0101-14"):
        _create(app_client, admin, code=code)
    app_client.put(f"{POINTS}/OB-0101-12/users/ana", headers=admin)
    answer = app_client.put(
        "/api/v1/users/ana/points", json={"points": ["OB-0101-14", "OB-0101-13", "OB-0101-13"]}, headers=admin
    )
    assert answer.status_code == 204
    assert app_client.get("/api/v1/users/ana/points", headers=admin).json() == {
        "items": ["OB-0101-13", "OB-0101-14"],
        "total": 2,
        "limit": 50,
        "offset": 0,
        "next_cursor": None,
    }
    assert [p["code"] for p in app_client.get(POINTS, headers=ana).json()["items"]] == ["OB-0101-13", "OB-0101-14"]
    assert [row[1:] for row in audit_rows(app_client) if row[1].startswith("point.access")][-3:] == [
        ("point.access_revoked", "point:OB-0101-12"),
        ("point.access_granted", "point:OB-0101-13"),
        ("point.access_granted", "point:OB-0101-14"),
    ]


@pytest.mark.parametrize(
    ("path", "points", "status", "message"),
    [
        ("/api/v1/users/ana/points", ["OB-0101-12", "NOPE"], 422, "no hay un punto con código 'NOPE'"),
        ("/api/v1/users/ghost/points", ["OB-0101-12"], 404, "no hay un usuario llamado 'ghost'"),
    ],
)
def test_a_bad_list_of_an_accounts_points_changes_nothing(app_client, path, points, status, message):
    admin = add_user(app_client, "root", admin=True)
    add_user(app_client, "ana")
    _create(app_client, admin)
    answer = app_client.put(path, json={"points": points}, headers=admin)
    assert (answer.status_code, message in answer.json()["error"]["message"]) == (status, True)
    assert app_client.get("/api/v1/users/ana/points", headers=admin).json()["items"] == []


def test_an_operator_cannot_read_or_change_an_accounts_points(app_client):
    add_user(app_client, "root", admin=True)
    ana = add_user(app_client, "ana")
    assert [
        app_client.get("/api/v1/users/ana/points", headers=ana).status_code,
        app_client.put("/api/v1/users/ana/points", json={"points": []}, headers=ana).status_code,
    ] == [403, 403]
