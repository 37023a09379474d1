"""Logging in and out, session expiry, the failed-login lock, personal tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest

from central.core.auth.lockout import FREE_FAILURES, FREE_FAILURES_PER_ADDRESS, lock_for
from tests.central.core_support import PASSWORD, add_user, headers_for

LOGIN = "/api/v1/auth/login"
ME = "/api/v1/users/me"
TOKENS = "/api/v1/users/me/tokens"


def _login(client, username="ana", password=PASSWORD):
    return client.post(LOGIN, json={"username": username, "password": password})


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_login_answers_a_session_token_that_expires_after_the_ttl(app_client, settings, clock):
    add_user(app_client, "ana", with_password=True)
    response = _login(app_client)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["access_token"].startswith("cau_s_")
    expires = clock.now() + timedelta(minutes=settings.session_ttl_minutes)
    assert body["expires_at"] == expires.isoformat().replace("+00:00", "Z")
    assert app_client.get(ME, headers=_bearer(body["access_token"])).json()["username"] == "ana"


def test_a_session_token_is_refused_once_past_its_ttl(app_client, settings, clock):
    add_user(app_client, "ana", with_password=True)
    token = _login(app_client).json()["access_token"]
    clock.advance(settings.session_ttl_minutes * 60 - 1)
    assert app_client.get(ME, headers=_bearer(token)).status_code == 200
    clock.advance(1)
    response = app_client.get(ME, headers=_bearer(token))
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "token no válido, vencido o revocado"


@pytest.mark.parametrize(
    ("username", "password"),
    [("ana", "wrong password"), ("nobody", PASSWORD), ("inactive", PASSWORD)],
    ids=["wrong-password", "unknown-user", "deactivated-user"],
)
def test_every_failed_login_gets_the_same_401(app_client, username, password):
    admin = add_user(app_client, "ana", admin=True, with_password=True)
    add_user(app_client, "inactive", with_password=True)
    assert app_client.post("/api/v1/users/inactive/deactivate", headers=admin).status_code == 200
    response = _login(app_client, username, password)
    assert (response.status_code, response.json()) == (
        401,
        {"error": {"status": 401, "code": "unauthorized", "message": "usuario o contraseña incorrectos"}},
    )


def test_logout_revokes_the_presented_token_only(app_client):
    add_user(app_client, "ana", with_password=True)
    first, second = _login(app_client).json()["access_token"], _login(app_client).json()["access_token"]
    assert app_client.post("/api/v1/auth/logout", headers=_bearer(first)).status_code == 204
    assert app_client.get(ME, headers=_bearer(first)).status_code == 401
    assert app_client.get(ME, headers=_bearer(second)).status_code == 200


def test_repeated_failures_lock_the_username_until_the_lock_expires(app_client, clock):
    add_user(app_client, "ana", with_password=True)
    for _ in range(5):
        assert _login(app_client, password="wrong password").status_code == 401
    locked = _login(app_client)
    assert locked.status_code == 429
    assert locked.headers["Retry-After"] == "31"
    clock.advance(30.5)
    assert _login(app_client).status_code == 200
    assert _login(app_client, password="wrong password").status_code == 401  # the count started over


def test_a_correct_login_takes_its_attempt_back_from_the_address(app_client):
    add_user(app_client, "ana", with_password=True)
    for i in range(FREE_FAILURES_PER_ADDRESS - 1):
        assert _login(app_client, f"user{i}", "wrong password").status_code == 401
    for _ in range(3):  # each would have been the address's last free attempt
        assert _login(app_client).status_code == 200
    assert _login(app_client, "last", "wrong password").status_code == 401
    assert _login(app_client, "another", "wrong password").status_code == 429


def test_failures_older_than_an_hour_are_forgotten(app_client, clock):
    add_user(app_client, "ana", with_password=True)
    for _ in range(FREE_FAILURES - 1):
        assert _login(app_client, password="wrong password").status_code == 401
    clock.advance(3601)
    for _ in range(FREE_FAILURES - 1):
        assert _login(app_client, password="wrong password").status_code == 401
    assert _login(app_client).status_code == 200


@pytest.mark.parametrize(
    ("failures", "lock_s"),
    [(1, 0), (4, 0), (5, 30), (6, 60), (8, 240), (10, 900), (40, 900)],
)
def test_the_lock_doubles_with_each_failure_up_to_a_quarter_hour(failures, lock_s):
    assert lock_for(failures) == timedelta(seconds=lock_s)


def test_a_personal_token_is_shown_once_and_then_listed_without_it(app_client, clock):
    headers = add_user(app_client, "ana")
    created = app_client.post(TOKENS, json={"name": "grafana", "expires_at": "2027-01-01T00:00:00Z"}, headers=headers)
    assert created.status_code == 201
    token = created.json()
    assert token["token"].startswith("cau_p_")
    clock.advance(60)
    assert app_client.get(ME, headers=_bearer(token["token"])).status_code == 200
    listed = app_client.get(TOKENS, headers=headers).json()
    assert listed["total"] == 2
    assert listed["items"][1] == {
        "id": token["id"],
        "name": "grafana",
        "created_at": "2026-11-28T13:00:00Z",
        "last_used_at": "2026-11-28T13:01:00Z",
        "expires_at": "2027-01-01T00:00:00Z",
    }
    assert token["token"] not in str(listed)


@pytest.mark.parametrize(
    ("second_use_after_s", "last_used_at"),
    [
        (30, "2026-11-28T13:01:00Z"),
        (61, "2026-11-28T13:02:01Z"),
    ],
)
def test_last_used_at_moves_at_most_once_a_minute(app_client, clock, second_use_after_s, last_used_at):
    headers = add_user(app_client, "ana")
    token = app_client.post(TOKENS, json={"name": "grafana"}, headers=headers).json()
    clock.advance(60)
    app_client.get(ME, headers=_bearer(token["token"]))
    clock.advance(second_use_after_s)
    app_client.get(ME, headers=_bearer(token["token"]))
    assert app_client.get(TOKENS, headers=headers).json()["items"][1]["last_used_at"] == last_used_at


def test_a_revoked_personal_token_stops_working(app_client):
    headers = add_user(app_client, "ana")
    token = app_client.post(TOKENS, json={"name": "script"}, headers=headers).json()
    assert app_client.delete(f"{TOKENS}/{token['id']}", headers=headers).status_code == 204
    assert app_client.get(ME, headers=_bearer(token["token"])).status_code == 401
    assert [item["name"] for item in app_client.get(TOKENS, headers=headers).json()["items"]] == ["test"]


def test_one_user_cannot_revoke_another_users_token(app_client):
    ana = add_user(app_client, "ana")
    bob = add_user(app_client, "bob")
    token = app_client.post(TOKENS, json={"name": "script"}, headers=ana).json()
    response = app_client.delete(f"{TOKENS}/{token['id']}", headers=bob)
    assert response.status_code == 404
    assert app_client.get(ME, headers=_bearer(token["token"])).status_code == 200


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # refused before any SQL: one database is enough
def test_a_personal_token_cannot_expire_in_the_past(app_client):
    headers = add_user(app_client, "ana")
    response = app_client.post(TOKENS, json={"name": "x", "expires_at": "2026-11-28T12:00:00Z"}, headers=headers)
    assert response.status_code == 422
    assert response.json()["error"]["message"] == "expires_at: debe estar en el futuro"


def test_tokens_are_stored_only_as_hashes(app_client):
    headers = add_user(app_client, "ana", with_password=True)
    session = _login(app_client).json()["access_token"]
    personal = headers["Authorization"].removeprefix("Bearer ")
    with app_client.app.state.ctx.db.connect() as conn:
        dump = str(conn.fetchall("SELECT * FROM api_tokens")) + str(conn.fetchall("SELECT * FROM users"))
    assert session not in dump and personal not in dump and PASSWORD not in dump


def test_deactivating_a_user_revokes_their_tokens(app_client):
    admin = add_user(app_client, "root", admin=True)
    add_user(app_client, "ana")
    token = headers_for(app_client, "ana")
    assert app_client.post("/api/v1/users/ana/deactivate", headers=admin).json()["is_active"] is False
    assert app_client.get(ME, headers=token).status_code == 401
    assert app_client.patch("/api/v1/users/ana", json={"is_active": True}, headers=admin).status_code == 200
    assert app_client.get(ME, headers=token).status_code == 401
