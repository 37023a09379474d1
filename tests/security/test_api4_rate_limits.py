"""OWASP API4 (unrestricted resource consumption): the documented login limit, one guess at a time.

README: "Failed logins lock a username after 5 ... (30 s, doubling ...)". Parallel guesses are
tested against a real server in tests/central/test_login_lockout.py; request-size limits in
tests/central/test_ingest_bad_input.py.
"""

from __future__ import annotations

import secrets

from central.core.users.models import UserCreate
from central.core.users.service import create_user
from tests.security.targets import Site

LOGIN = "/api/v1/auth/login"
PASSWORD = "correct horse battery staple"


def test_the_sixth_login_after_five_wrong_passwords_waits_30_s_even_with_the_right_one(site: Site) -> None:
    world = site.world
    username = f"eve{secrets.token_hex(4)}"
    with world.db.transaction() as conn:
        create_user(conn, UserCreate(username=username, password=PASSWORD), "setup", world.clock.now())

    def login(password: str) -> tuple[int, str | None]:
        response = site.request("POST", LOGIN, {}, token=None, body={"username": username, "password": password})
        return response.status_code, response.headers.get("retry-after")

    wrong = [login("not the password")[0] for _ in range(5)]
    locked = login(PASSWORD)
    world.clock.advance(30)
    assert (wrong, locked, login(PASSWORD)[0]) == ([401] * 5, (429, "31"), 200)  # Retry-After errs a second long
