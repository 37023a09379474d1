"""Accounts: administrators manage them, people manage their own profile; all audited."""

from __future__ import annotations

import pytest

from tests.central.core_support import PASSWORD, add_user, audit_rows

USERS = "/api/v1/users"
NEW_USER = {
    "username": "bea",
    "password": "bea's long password",
    "email": "bea@example.cl",
    "phone": "+56912345678",
    "notify_sms": True,
}


# Refused by the request schema before any SQL runs: one database is enough.
SCHEMA_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_an_admin_creates_an_account_without_echoing_the_password(app_client):
    admin = add_user(app_client, "root", admin=True)
    response = app_client.post(USERS, json=NEW_USER, headers=admin)
    assert response.status_code == 201
    without_password = {field: value for field, value in NEW_USER.items() if field != "password"}
    assert response.json() == {
        **without_password,
        "is_admin": False,
        "is_active": True,
        "notify_email": True,
        "created_at": "2026-11-28T13:00:00Z",
    }
    assert audit_rows(app_client) == [("root", "user.created", "user:bea")]
    login = app_client.post("/api/v1/auth/login", json={"username": "bea", "password": NEW_USER["password"]})
    assert login.status_code == 200


def test_a_non_admin_cannot_create_accounts(app_client):
    ana = add_user(app_client, "ana")
    response = app_client.post(USERS, json=NEW_USER, headers=ana)
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "esto requiere un administrador"


def test_a_taken_username_is_a_409_and_writes_no_audit_row(app_client):
    admin = add_user(app_client, "root", admin=True)
    assert app_client.post(USERS, json=NEW_USER, headers=admin).status_code == 201
    response = app_client.post(USERS, json=NEW_USER, headers=admin)
    assert (response.status_code, response.json()["error"]["message"]) == (409, "ya existe un usuario llamado 'bea'")
    assert audit_rows(app_client) == [("root", "user.created", "user:bea")]


@SCHEMA_ONLY
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"username": "Bea"}, "username"),
        ({"username": "me"}, "username"),
        ({"password": "s3cr3t!"}, "password"),
        ({"email": "not-an-address"}, "email"),
        ({"phone": "912345678"}, "phone"),
        ({"is_root": True}, "is_root"),
    ],
)
def test_bad_account_input_is_a_422_naming_the_field(app_client, change, field):
    admin = add_user(app_client, "root", admin=True)
    response = app_client.post(USERS, json={**NEW_USER, **change}, headers=admin)
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith(f"body.{field}: ")
    assert "s3cr3t!" not in response.text


def test_accounts_are_listed_in_pages(app_client):
    admin = add_user(app_client, "root", admin=True)
    for name in ("carla", "bea"):
        app_client.post(USERS, json={**NEW_USER, "username": name}, headers=admin)
    page = app_client.get(USERS, params={"limit": 2, "offset": 1}, headers=admin).json()
    assert [item["username"] for item in page["items"]] == ["carla", "root"]
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 1)


def test_a_person_changes_their_own_profile(app_client):
    ana = add_user(app_client, "ana")
    response = app_client.patch(
        f"{USERS}/me", json={"email": "ana@example.cl", "notify_sms": True, "phone": "+56987654321"}, headers=ana
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["email"], body["phone"], body["notify_sms"], body["notify_email"]) == (
        "ana@example.cl",
        "+56987654321",
        True,
        True,
    )
    assert audit_rows(app_client) == [("ana", "user.changed", "user:ana")]


@pytest.mark.parametrize("old_password", [None, "not the old one"])
def test_a_new_password_needs_the_old_one(app_client, old_password):
    ana = add_user(app_client, "ana", with_password=True)
    change = {"password": "a brand new password"} | ({"old_password": old_password} if old_password else {})
    response = app_client.patch(f"{USERS}/me", json=change, headers=ana)
    assert response.status_code == 422
    assert response.json()["error"]["message"] == ("old_password: falta o no coincide con la contraseña actual")
    assert app_client.post("/api/v1/auth/login", json={"username": "ana", "password": PASSWORD}).status_code == 200
    assert audit_rows(app_client) == []


def test_a_password_change_with_the_old_password_takes_effect(app_client):
    ana = add_user(app_client, "ana", with_password=True)
    change = {"password": "a brand new password", "old_password": PASSWORD}
    assert app_client.patch(f"{USERS}/me", json=change, headers=ana).status_code == 200
    login = "/api/v1/auth/login"
    assert app_client.post(login, json={"username": "ana", "password": PASSWORD}).status_code == 401
    assert app_client.post(login, json={"username": "ana", "password": "a brand new password"}).status_code == 200
    with app_client.app.state.ctx.db.connect() as conn:
        assert "a brand new password" not in conn.fetchval("SELECT detail FROM audit_log WHERE action = 'user.changed'")


@SCHEMA_ONLY
def test_a_person_cannot_make_themselves_admin(app_client):
    ana = add_user(app_client, "ana")
    response = app_client.patch(f"{USERS}/me", json={"is_admin": True}, headers=ana)
    assert (response.status_code, response.json()["error"]["message"]) == (422, "body.is_admin: campo desconocido")


@pytest.mark.parametrize("change", [{"is_admin": False}, {"is_active": False}])
def test_the_last_active_admin_cannot_be_removed(app_client, change):
    admin = add_user(app_client, "root", admin=True)
    response = app_client.patch(f"{USERS}/root", json=change, headers=admin)
    assert (response.status_code, response.json()["error"]["message"]) == (
        409,
        "'root' es el último administrador activo; nombre otro primero",
    )


def test_an_unknown_account_is_a_404(app_client):
    admin = add_user(app_client, "root", admin=True)
    response = app_client.get(f"{USERS}/ghost", headers=admin)
    assert (response.status_code, response.json()["error"]["message"]) == (404, "no hay un usuario llamado 'ghost'")
