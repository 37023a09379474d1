"""Console fixtures: the seeded two-well site (tests/ui/site.py) on SQLite and on PostgreSQL,
behind a TestClient or, for the browser, a real uvicorn."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from central.app import create_app
from central.db import Database
from protocols.clock import ManualClock
from tests.central.served import serving
from tests.conftest import free_port
from tests.pg import temporary_database
from tests.ui import site
from tests.ui.browser import chromium, require_chromium

NO_TILES_HERE = "http://127.0.0.1:9/{z}/{x}/{y}.png"  # nothing listens: the map has no tiles, as air-gapped


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


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def console(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """The seeded site (one per module and database kind: seeding runs the real worker)."""
    with database_url_of(request.param, request, tmp_path_factory.mktemp("ui")) as url:
        clock = site.clock()
        app = create_app(site.settings(url), clock=clock)
        with TestClient(app) as client:
            seeded = site.seed(client, app.state.ctx.db, clock, url)
            yield Console(client, app.state.ctx.db, clock, seeded)


def login_csrf(client: TestClient) -> str:
    """Open the login form; returns its CSRF token (its cookie is now in the client)."""
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/ui/login").text).group(1)


def logged_in(console: Console, username: str) -> TestClient:
    """A new client of the same app, logged in through the console's form."""
    client = TestClient(console.client.app)
    answer = client.post("/ui/login", data={"username": username, "password": site.PASSWORD,
                                             "csrf": login_csrf(client)}, follow_redirects=False)
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


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The seeded site under a real uvicorn, for the browser (one per module and database kind)."""
    require_chromium()
    os.environ["CAUDAL_CONSOLE_TILE_URL"] = NO_TILES_HERE
    try:
        with database_url_of(request.param, request, tmp_path_factory.mktemp("ui")) as url:
            clock = site.clock()
            app = create_app(site.settings(url), clock=clock)
            with serving(app, free_port()) as base, httpx.Client(base_url=base, timeout=30) as api:
                seeded = site.seed(api, app.state.ctx.db, clock, url)
                yield Served(base, api, seeded.admin, request.param)
    finally:
        del os.environ["CAUDAL_CONSOLE_TILE_URL"]


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium() as driver:
        yield driver
