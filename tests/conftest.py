"""Fixtures every part of the suite shares: the real PostgreSQL, free ports, a manual clock."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

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
