"""Temporary PostgreSQL databases for tests and benchmarks: made, used, dropped."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

ADMIN_URL = os.environ.get("CAUDAL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
"""The machine's PostgreSQL as its administrator: temporary databases are made and dropped there."""


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` instead."""
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@contextmanager
def temporary_database(admin_url: str, prefix: str = "caudal_test", template: str | None = None) -> Iterator[str]:
    """A new database (empty, or a copy of ``template``) for the ``with`` block; yields its URL.

    The name carries the process id and a random tag, so parallel runs never collide, and
    the database is dropped (connections and all) however the block ends.
    """
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    copy = f' TEMPLATE "{template}"' if template else ""
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"{copy}')
    try:
        yield with_database(admin_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
