"""The failed-login lock holds under parallel guesses: a real uvicorn serving the app on
each database, 40 logins sent at once over TCP, the clock standing still (ManualClock)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from central.app import create_app
from central.core.auth.lockout import FREE_FAILURES, FREE_FAILURES_PER_ADDRESS
from central.core.users.models import UserCreate
from central.core.users.service import create_user
from central.settings import Settings
from protocols.clock import ManualClock
from tests.central.core_support import PASSWORD
from tests.central.served import serving

LOGIN = "/api/v1/auth/login"
GUESSES = 40


@pytest.fixture
def served(settings: Settings, clock: ManualClock, port: int) -> Iterator[tuple[str, FastAPI]]:
    """The app on a real server, with ``ana`` able to log in with :data:`PASSWORD`."""
    app = create_app(settings, clock=clock)
    with app.state.ctx.db.transaction() as conn:
        create_user(conn, UserCreate(username="ana", password=PASSWORD), "setup", clock.now())
    with serving(app, port) as url:
        yield url, app


async def _all_at_once(url: str, logins: list[tuple[str, str]]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(logins))
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        return await asyncio.gather(
            *(client.post(LOGIN, json={"username": username, "password": password}) for username, password in logins)
        )


def _statuses(replies: list[httpx.Response]) -> Counter[int]:
    return Counter(reply.status_code for reply in replies)


def _login(url: str, username: str, password: str) -> httpx.Response:
    return httpx.post(url + LOGIN, json={"username": username, "password": password}, timeout=30)


def test_parallel_guesses_at_one_username_get_only_the_free_attempts(served):
    url, _ = served
    replies = asyncio.run(_all_at_once(url, [("ana", "wrong password")] * GUESSES))
    assert _statuses(replies) == {401: FREE_FAILURES, 429: GUESSES - FREE_FAILURES}
    refused = next(reply for reply in replies if reply.status_code == 429)
    assert (
        refused.json()["error"]["message"] == "demasiados ingresos fallidos con este usuario; intente de nuevo en 31 s"
    )


def test_the_right_password_is_refused_while_the_username_is_locked(served):
    url, _ = served
    asyncio.run(_all_at_once(url, [("ana", "wrong password")] * GUESSES))
    reply = _login(url, "ana", PASSWORD)
    assert (reply.status_code, reply.headers["Retry-After"]) == (429, "31")


def test_parallel_guesses_at_many_usernames_from_one_address_are_throttled(served):
    url, _ = served
    replies = asyncio.run(_all_at_once(url, [(f"user{i}", "wrong password") for i in range(GUESSES)]))
    assert _statuses(replies) == {401: FREE_FAILURES_PER_ADDRESS, 429: GUESSES - FREE_FAILURES_PER_ADDRESS}
    reply = _login(url, "ana", PASSWORD)
    assert (reply.status_code, reply.json()["error"]["message"]) == (
        429,
        "demasiados ingresos fallidos desde esta dirección; intente de nuevo en 31 s",
    )


def test_only_the_counted_attempts_are_stored(served):
    url, app = served
    asyncio.run(_all_at_once(url, [("ana", "wrong password")] * GUESSES))
    with app.state.ctx.db.connect() as conn:
        rows = conn.fetchall("SELECT scope, subject, attempts FROM login_attempts ORDER BY scope")
    assert rows == [
        {"scope": "address", "subject": "127.0.0.1", "attempts": FREE_FAILURES},
        {"scope": "user", "subject": "ana", "attempts": FREE_FAILURES},
    ]
