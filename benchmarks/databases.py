"""The PostgreSQL server the benchmarks measure against, and its temporary databases."""

from __future__ import annotations

import contextlib
import os
import threading

import psycopg

from benchmarks.procstat import process_cpu_s
from tests.pg import temporary_database

ADMIN_URL = os.environ.get("CAUDAL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

__all__ = ["ADMIN_URL", "BackendCpu", "postgres_measurable", "postgres_unreachable", "temporary_database"]


def postgres_unreachable() -> str | None:
    """Why PostgreSQL cannot be measured here (a line to print), or None when it can."""
    try:
        psycopg.connect(ADMIN_URL, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        return f"postgresql: skipped, not reachable at {ADMIN_URL}: {exc}"
    return None


def postgres_measurable(setting: str) -> bool:
    """Print what the benchmark measures (``setting``), then whether PostgreSQL answers: a
    benchmark that cannot run still says what it would have measured, and why it did not.
    When it answers, its version and whether autovacuum runs (figures of a server without it
    include the dead rows its busy tables gather, which a production server vacuums)."""
    print(f"   {setting}")
    problem = postgres_unreachable()
    if problem is not None:
        print(f"   {problem}")
        return False
    with psycopg.connect(ADMIN_URL, connect_timeout=3) as conn:
        version, autovacuum = (conn.execute(f"SHOW {name}").fetchone()[0] for name in ("server_version", "autovacuum"))
    print(f"   postgresql {version}, autovacuum {autovacuum}")
    return True


class BackendCpu:
    """CPU seconds PostgreSQL's backends spend for one database, read from ``/proc`` (PostgreSQL on
    this machine): what a figure on the client's and the server's CPU leaves out.

    A thread samples the database's backends every ``every_s`` seconds while the block runs (on
    one connection of its own, a fraction of a millisecond each), so a backend that ends inside
    it still counts up to its last sample. ``seconds`` is None when ``/proc`` does not show them
    (PostgreSQL elsewhere).
    """

    def __init__(self, url: str, every_s: float = 0.5) -> None:
        self.database = url.rsplit("/", 1)[1].split("?", 1)[0]
        self.every_s = every_s
        self.seconds: float | None = None
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_until_stopped, daemon=True)
        self._conn = psycopg.connect(ADMIN_URL, autocommit=True)

    def __enter__(self) -> BackendCpu:
        self._first = self._sample()
        self._last = dict(self._first)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self._last.update(self._sample())
        self._conn.close()
        if self._last:
            self.seconds = sum(self._last.values()) - sum(self._first.values())

    def _sample_until_stopped(self) -> None:
        while not self._stop.wait(self.every_s):
            self._last.update(self._sample())

    def _sample(self) -> dict[int, float]:
        pids = [
            row[0]
            for row in self._conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.database,))
        ]
        found = {}
        for pid in pids:
            with contextlib.suppress(OSError):
                found[pid] = process_cpu_s(pid)
        return found
