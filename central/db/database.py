"""SQLite here and PostgreSQL (:mod:`central.db.postgres`) behind one interface
(:class:`central.db.connection.Connection`), and :func:`open_database`, which picks one by URL.

Conventions that make one schema serve both databases:

- SQL uses ``:name`` parameters; for PostgreSQL they are rewritten to ``%(name)s``.
  Write ``CAST(x AS type)`` rather than ``x::type``.
- Columns declared ``TIMESTAMPTZ`` hold aware UTC datetimes on both sides (SQLite stores
  fixed-width ISO text, which sorts and compares like time; a registered converter turns
  it back into ``datetime``). Columns declared ``BOOLEAN`` come back as ``bool``.
- The caller owns the transaction: ``with db.transaction() as conn:`` commits on success
  and rolls back on any exception, so a change and its audit row commit together.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from central.db.connection import (
    BaseConnection,
    Connection,
    DatabaseError,
    DatabaseUnavailable,
    DataError,
    Dialect,
    IntegrityError,
    Params,
)
from central.db.postgres import PostgresDatabase, redact_url

# --- SQLite -------------------------------------------------------------------------------


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r} given to the database; use UTC-aware times")
    return value.astimezone(UTC).isoformat(timespec="microseconds")  # fixed width: sorts like time


def _from_iso(raw: bytes) -> datetime:
    return datetime.fromisoformat(raw.decode())


sqlite3.register_adapter(datetime, _iso)
sqlite3.register_converter("TIMESTAMPTZ", _from_iso)
sqlite3.register_converter("BOOLEAN", lambda raw: raw not in (b"0", b""))


def _dict_factory(cursor: sqlite3.Cursor, row: tuple) -> dict[str, Any]:
    return {column[0]: value for column, value in zip(cursor.description, row, strict=True)}


class _SqliteConnection(BaseConnection):
    dialect: Dialect = "sqlite"

    @contextmanager
    def _errors(self, sql: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc
        except (OverflowError, sqlite3.DataError) as exc:
            raise DataError(str(exc)) from exc
        except sqlite3.Error as exc:
            raise DatabaseError(f"{exc} (en la consulta: {sql.strip()[:200]})") from exc

    def _execute(self, sql: str, params: Mapping[str, Any]) -> sqlite3.Cursor:
        return self.raw.execute(sql, params)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        self.raw.execute("SAVEPOINT caudal_nested")
        try:
            yield
        except BaseException:
            self.raw.execute("ROLLBACK TO caudal_nested")
            self.raw.execute("RELEASE caudal_nested")
            raise
        self.raw.execute("RELEASE caudal_nested")

    def executemany(self, sql: str, rows: Iterable[Mapping[str, Any]]) -> None:
        with self._errors(sql):
            self.raw.executemany(sql, rows)

    def fetchrows(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        with self._errors(sql):
            cursor = self.raw.cursor()
            cursor.row_factory = None
            return cursor.execute(sql, params or {}).fetchall()

    @contextmanager
    def pipeline(self) -> Iterator[None]:
        yield

    def copy_rows(
        self,
        table: str,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        meanwhile: Callable[[], object] | None = None,
    ) -> None:
        marks = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        with self._errors(sql):
            self.raw.executemany(sql, rows)
        if meanwhile is not None:
            meanwhile()


class SqliteDatabase:
    """One SQLite file. A connection per thread, WAL mode, foreign keys on.

    Writes are serialised by SQLite itself; ``busy_timeout`` makes concurrent writers wait
    instead of failing at once.
    """

    dialect: Dialect = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        raw = getattr(self._local, "raw", None)
        if raw is None:
            raw = self._open()
            self._local.raw = raw
        return raw

    def _open(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            raw = sqlite3.connect(
                self.path, detect_types=sqlite3.PARSE_DECLTYPES, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise DatabaseUnavailable(f"no se puede abrir la base de datos SQLite {self.path}: {exc}") from exc
        raw.row_factory = _dict_factory
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=10000"):
            raw.execute(f"PRAGMA {pragma}")
        with self._lock:
            self._all.append(raw)
        return raw

    @contextmanager
    def transaction(self, *, pipelined: bool = False) -> Iterator[Connection]:
        """``pipelined`` changes nothing here: SQLite has no round trips to save."""
        raw = self._connection()
        try:
            raw.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise DatabaseUnavailable(f"no se puede iniciar una transacción en {self.path}: {exc}") from exc
        try:
            yield _SqliteConnection(raw)
        except BaseException:
            raw.execute("ROLLBACK")
            raise
        else:
            raw.execute("COMMIT")

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection in autocommit, for reads and single statements."""
        yield _SqliteConnection(self._connection())

    def close(self) -> None:
        with self._lock:
            for raw in self._all:
                raw.close()
            self._all.clear()
        self._local = threading.local()


Database = SqliteDatabase | PostgresDatabase


def open_database(url: str) -> Database:
    """``sqlite:///path``, ``sqlite:///:memory:`` or ``postgresql://...``."""
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresDatabase(url)
    if url.startswith("sqlite:///"):
        return SqliteDatabase(url.removeprefix("sqlite:///"))
    raise DatabaseError(
        f"URL de base de datos no soportada {redact_url(url)!r}: use sqlite:///ARCHIVO o postgresql://..."
    )
