"""Fixtures every part of the suite shares: the real PostgreSQL, the server's database of each
kind (every database test runs on SQLite and on PostgreSQL), the whole app, free ports, a
manual clock. Server modules are imported inside the fixtures, so the edge's tests run
without the server's dependencies."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from protocols.clock import ManualClock
from tests.pg import temporary_database

ADMIN_URL = os.environ.get("CAUDAL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def postgres_required() -> bool:
    """In CI a missing PostgreSQL is a failure, elsewhere a skip with the reason."""
    return os.environ.get("CAUDAL_REQUIRE_POSTGRES") == "1" or os.environ.get("CI") == "true"


def _admin_connection():
    import psycopg

    return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """The admin URL of the machine's PostgreSQL, after checking it answers."""
    try:
        with _admin_connection():
            pass
    except Exception as exc:  # any connection failure means: no PostgreSQL here
        message = f"PostgreSQL not reachable at {ADMIN_URL}: {exc}"
        if postgres_required():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return ADMIN_URL


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    with temporary_database(postgres_admin_url) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database URL of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'caudal.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def db(database_url: str) -> Iterator[Any]:
    """The server's database, migrated (a ``central.db.Database``)."""
    from central.db import migrate, open_database

    database = open_database(database_url)
    migrate(database)
    yield database
    database.close()


@pytest.fixture
def settings(database_url: str) -> Any:
    """The server's settings (``central.settings.Settings``) on that database, workers off."""
    from central.settings import Settings

    return Settings(database_url=database_url, secret_key="test-secret-key", dga_rut_empresa="77555666-8",
                    workers=False)


@pytest.fixture
def app_client(settings: Any, clock: ManualClock) -> Iterator[Any]:
    """The whole application (role all) over the real database, with a manual clock."""
    from fastapi.testclient import TestClient

    from central.app import create_app

    with TestClient(create_app(settings, clock=clock)) as client:
        yield client


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock("2026-11-28T13:00:00+00:00")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def port() -> int:
    return free_port()
