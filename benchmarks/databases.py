"""The PostgreSQL server the benchmarks measure against, and its temporary databases."""

from __future__ import annotations

import os

import psycopg

from tests.pg import temporary_database

ADMIN_URL = os.environ.get("CAUDAL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

__all__ = ["ADMIN_URL", "postgres_measurable", "postgres_unreachable", "temporary_database"]


def postgres_unreachable() -> str | None:
    """Why PostgreSQL cannot be measured here (a line to print), or None when it can."""
    try:
        psycopg.connect(ADMIN_URL, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        return f"postgresql: skipped, not reachable at {ADMIN_URL}: {exc}"
    return None


def postgres_measurable() -> bool:
    """Whether PostgreSQL answers; when it does not, the benchmark's output says why."""
    problem = postgres_unreachable()
    if problem is not None:
        print(f"   {problem}")
    return problem is None
