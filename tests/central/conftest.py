"""Central fixtures: every database test runs on SQLite and on the real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from central.app import create_app
from central.db import Database, migrate, open_database
from central.settings import Settings
from protocols.clock import ManualClock


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database URL of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'caudal.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = open_database(database_url)
    migrate(database)
    yield database
    database.close()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, secret_key="test-secret-key", dga_rut_empresa="77555666-8",
                    workers=False)


@pytest.fixture
def app_client(settings: Settings, clock: ManualClock) -> Iterator[TestClient]:
    """The whole application (role all) over the real database, with a manual clock."""
    with TestClient(create_app(settings, clock=clock)) as client:
        yield client
