"""Console fixtures: the seeded two-well site (tests/central/ui/site.py) on SQLite and on PostgreSQL,
behind a TestClient or, for the browser, a real uvicorn."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from central.app import create_app
from tests.central.served import serving
from tests.central.ui import site
from tests.central.ui.browser import DESK, PHONE, chromium, require_chromium
from tests.central.ui.console import Console, Served, database_url_of
from tests.ports import free_port

NO_TILES_HERE = "http://127.0.0.1:9/{z}/{x}/{y}.png"  # nothing listens: the map has no tiles, as air-gapped


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def console(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """The seeded site (one per module and database kind: seeding runs the real worker)."""
    with database_url_of(request.param, request, tmp_path_factory.mktemp("ui")) as url:
        clock = site.clock()
        app = create_app(site.settings(url), clock=clock)
        with TestClient(app) as client:
            seeded = site.seed(client, app.state.ctx.db, clock, url)
            yield Console(client, app.state.ctx.db, clock, seeded)


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


@pytest.fixture(params=[PHONE, DESK], ids=["phone", "desk"])
def size(request: pytest.FixtureRequest) -> tuple[int, int]:
    """A screen's (width, height): a browser test that asks for it runs on a phone and on a desk."""
    return request.param
