"""OWASP API3 (object property level): fields a caller may not set are refused, never applied.

Each request carries one property the body's model does not offer that caller (a privilege, an
owner, an identifier, a server-kept timestamp); the answer is 422 naming it and nothing changes.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.central.alerts.db_support import EMAIL
from tests.security.targets import Site

STATE = (
    "SELECT u.username, u.is_admin, u.is_active, (SELECT COUNT(*) FROM notify_channels c WHERE c.user_id = u.id)"
    " AS channels, (SELECT COUNT(*) FROM api_tokens t WHERE t.user_id = u.id) AS tokens FROM users u"
    " ORDER BY u.username"
)
POINTS = "SELECT code, name, water_right_lps, created_at FROM points ORDER BY code"


@pytest.mark.parametrize(
    ("user", "method", "path", "body", "field"),
    [
        ("ana", "PATCH", "/api/v1/users/me", {"is_admin": True}, "is_admin"),
        ("ana", "PATCH", "/api/v1/users/me", {"is_active": True, "email": "x@agua.example"}, "is_active"),
        ("ana", "PATCH", "/api/v1/users/me", {"username": "admin"}, "username"),
        ("ana", "PATCH", "/api/v1/users/me", {"id": 1}, "id"),
        ("ana", "POST", "/api/v1/users/me/channels", {**EMAIL, "user_id": 1}, "user_id"),
        ("ana", "POST", "/api/v1/users/me/channels", {**EMAIL, "id": 1}, "id"),
        ("ana", "POST", "/api/v1/users/me/tokens", {"name": "x", "kind": "session"}, "kind"),
        ("ana", "POST", "/api/v1/users/me/tokens", {"name": "x", "user_id": 1}, "user_id"),
        ("admin", "POST", "/api/v1/users", {"username": "eve", "password": "correct horse battery", "id": 1}, "id"),
        ("admin", "PATCH", "/api/v1/users/ana", {"username": "root"}, "username"),
        (
            "admin",
            "POST",
            "/api/v1/points",
            {"code": "P9", "name": "P9", "kind": "subterranea", "created_at": "2000-01-01T00:00:00Z"},
            "created_at",
        ),
        ("admin", "PATCH", "/api/v1/points/P1", {"code": "P9"}, "code"),
        ("admin", "PATCH", "/api/v1/points/P1", {"id": 99}, "id"),
    ],
    ids=lambda value: value if isinstance(value, str) and not value.startswith("/") else None,
)
def test_a_property_the_caller_may_not_set_is_refused(
    site: Site, user: str, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    before = (site.world.rows(STATE), site.world.rows(POINTS))
    response = site.request(method, path, {}, token=site.token(user), body=body)
    after = (site.world.rows(STATE), site.world.rows(POINTS))
    assert response.status_code == 422, response.text
    assert field in [str(part) for detail in response.json()["error"]["details"] for part in detail["loc"]]
    before[0][[row["username"] for row in before[0]].index(user)]["tokens"] += 1  # the token this call used
    assert after == before


def test_a_channel_change_cannot_move_it_to_another_user(site: Site) -> None:
    created = site.world.add_channel("ana", EMAIL)
    response = site.request(
        "PATCH",
        "/api/v1/users/me/channels/{id}",
        {"id": str(created["id"])},
        token=site.token("ana"),
        body={"user_id": 1},
    )
    owners = site.world.rows("SELECT u.username FROM notify_channels c JOIN users u ON u.id = c.user_id")
    assert (response.status_code, owners) == (422, [{"username": "ana"}])
