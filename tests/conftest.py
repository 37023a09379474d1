"""Fixtures every part of the suite shares: the real PostgreSQL, the server's database of each
kind (every database test runs on SQLite and on PostgreSQL), the whole app, free ports, a
manual clock, and the two seeded installations the server's tests share (the telemetry
``site`` of tests/central/telemetry_support.py and the alert and notification ``world`` of
tests/central/alerts/db_support.py, also aimed at by tests/security). Server modules are imported
inside the fixtures, so the edge's tests run without the server's dependencies.

No test imports this module or another conftest: a fixture is asked for by name, and what
tests share besides fixtures lives in plain modules (``tests.ports``, ``tests.pg``, the
folders' ``*_support`` modules)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from protocols.clock import ManualClock
from tests.pg import ADMIN_URL, temporary_database
from tests.ports import free_port

SMTP_ENVIRONMENT = {
    "CAUDAL_SMTP_HOST": "127.0.0.1",
    "CAUDAL_SMTP_SECURITY": "none",
    "CAUDAL_SMTP_FROM": "alertas@caudal.example",
    "CAUDAL_SMTP_TIMEOUT_S": "5",
    "CAUDAL_NOTIFY_ALLOWED_NETWORKS": "127.0.0.0/8",
    "CAUDAL_NOTIFY_REQUIRE_HTTPS": "false",
    "CAUDAL_NOTIFY_TIMEOUT_S": "5",
}


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


@pytest.fixture(scope="session")
def migrated_template(postgres_admin_url: str) -> Iterator[str]:
    """The name of a migrated PostgreSQL database that per-test databases are copied from (fast)."""
    from central.db import migrate, open_database

    with temporary_database(postgres_admin_url, "caudal_alerts_tpl") as url:
        database = open_database(url)
        migrate(database)
        database.close()
        yield url.rpartition("/")[2]


@pytest.fixture
def pg_url(postgres_admin_url: str, migrated_template: str) -> Iterator[str]:
    """A new PostgreSQL database for one test, migrated already (a copy of the template)."""
    with temporary_database(postgres_admin_url, "caudal_alerts", template=migrated_template) as url:
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

    return Settings(
        database_url=database_url, secret_key="test-secret-key", dga_rut_empresa="77555666-8", workers=False
    )


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


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site_client(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The telemetry site's app (a ``TestClient``), one per database kind and test module
    (creating a PostgreSQL database and migrating it costs ~1 s, so the tests of a module
    share it and ``site`` resets it)."""
    from tests.central.telemetry_support import site_app

    if request.param == "sqlite":
        yield from site_app(f"sqlite:///{tmp_path_factory.mktemp('telemetry') / 'caudal.db'}")
        return
    with temporary_database(request.getfixturevalue("postgres_admin_url"), "caudal_telemetry") as url:
        yield from site_app(url)


@pytest.fixture
def site(site_client: Any) -> Any:
    """The module's telemetry site (``telemetry_support.Site``) with its telemetry tables emptied."""
    from tests.central.telemetry_support import reset_site

    return reset_site(site_client)


@pytest.fixture
def smtp_port(monkeypatch: pytest.MonkeyPatch, port: int) -> int:
    """Notification settings through the real environment variables: SMTP on ``port``, loopback allowed."""
    for name, value in {**SMTP_ENVIRONMENT, "CAUDAL_SMTP_PORT": str(port)}.items():
        monkeypatch.setenv(name, value)
    return port


@pytest.fixture
def smtp(smtp_port: int) -> Iterator[Any]:
    """A real SMTP server (``notify.support.SmtpServer``) on ``smtp_port``, started."""
    from tests.central.notify.support import SmtpServer

    server = SmtpServer(smtp_port)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world_client(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The alert and notification world's app (a ``TestClient``), one per database kind and
    test module; ``world`` empties it per test."""
    from tests.central.alerts.db_support import world_app

    if request.param == "sqlite":
        yield from world_app(f"sqlite:///{tmp_path_factory.mktemp('alerts') / 'caudal.db'}")
        return
    template = request.getfixturevalue("migrated_template")
    with temporary_database(request.getfixturevalue("postgres_admin_url"), "caudal_alerts", template) as url:
        yield from world_app(url)


@pytest.fixture
def world(world_client: Any, clock: ManualClock, smtp_port: int) -> Any:
    """The module's world (``db_support.World``), emptied, on this test's clock and notification settings."""
    from tests.central.alerts.db_support import reset_world

    return reset_world(world_client, clock)
