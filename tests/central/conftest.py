"""The server under a real uvicorn for the uplink tests (a real agent or uploader talks to it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from central.app import create_app
from central.db import Database
from central.settings import Settings
from protocols.clock import ManualClock
from tests.central.served import serving
from tests.central.telemetry_support import START, seed_site


@pytest.fixture
def central(settings: Settings, port: int) -> Iterator[tuple[str, Database]]:
    """The whole app (role all) under a real uvicorn in a thread, its site seeded; yields its URL and database."""
    app = create_app(settings, clock=ManualClock(START))
    db = app.state.ctx.db
    with db.transaction() as conn:
        seed_site(conn, ManualClock(START).now())
    with serving(app, port) as url:
        yield url, db


@pytest.fixture(scope="module")
def bare_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The whole app on a fresh SQLite file, nothing seeded and no workers: for tests that read
    its route table and documents, shared by a module's tests."""
    path = tmp_path_factory.mktemp("bare") / "caudal.db"
    settings = Settings(database_url=f"sqlite:///{path}", secret_key="k", workers=False)
    with TestClient(create_app(settings)) as client:
        yield client
