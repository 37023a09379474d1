"""What the console tests share besides fixtures: the seeded site behind a TestClient
(:class:`Console`) or a real uvicorn (:class:`Served`), logging in through the form and the
CSRF tokens of its pages. The fixtures that build them are in this folder's conftest."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from central.db import Database
from protocols.clock import ManualClock
from tests.central.ui import site
from tests.pg import temporary_database


@contextmanager
def database_url_of(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'caudal.db'}"
        return
    with temporary_database(request.getfixturevalue("postgres_admin_url")) as url:
        yield url


@dataclass
class Console:
    client: TestClient
    db: Database
    clock: ManualClock
    seeded: site.Site


def login_csrf(client: TestClient) -> str:
    """Open the login form; returns its CSRF token (its cookie is now in the client)."""
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/ui/login").text).group(1)


def logged_in(console: Console, username: str) -> TestClient:
    """A new client of the same app, logged in through the console's form."""
    client = TestClient(console.client.app)
    answer = client.post(
        "/ui/login",
        data={"username": username, "password": site.PASSWORD, "csrf": login_csrf(client)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return client


def page_csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


@dataclass
class Served:
    url: str
    api: httpx.Client
    admin: dict[str, str]
    kind: str
