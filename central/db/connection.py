"""What every database connection offers: the :class:`Connection` interface, the errors it raises,
and the half of it both dialects share.

Apart from :mod:`central.db.database` (SQLite) and :mod:`central.db.postgres` (PostgreSQL),
the adapters and their drivers, so that code typed against a connection (migrations, tests)
does not need either driver's module, and the adapters depend on this one, never the other way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Literal, Protocol

Dialect = Literal["sqlite", "postgresql"]
Params = Mapping[str, Any] | None


class DatabaseError(Exception):
    """The database could not do what was asked (unreachable, broken SQL, locked...)."""


class DatabaseUnavailable(DatabaseError):
    """The database cannot be reached just now (down, restarting, a connection cut, no free
    connection in time): nothing is wrong with the request or the code, so try again later."""


class IntegrityError(DatabaseError):
    """A unique, foreign-key or check constraint refused the change."""


class DataError(DatabaseError):
    """The database refused a value (a number out of its range, a NUL byte in text):
    the request's fault, not the database's."""


class Connection(Protocol):
    dialect: Dialect

    def execute(self, sql: str, params: Params = None) -> int:
        """Run one statement; returns the number of rows it touched."""

    def fetchall(self, sql: str, params: Params = None) -> list[dict[str, Any]]: ...

    def fetchone(self, sql: str, params: Params = None) -> dict[str, Any] | None: ...

    def fetchval(self, sql: str, params: Params = None) -> Any: ...

    def fetchrows(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        """The rows as tuples in the SELECT's column order, for reads of thousands of rows
        (a readings page), where building a dict per row costs more than reading the row;
        PostgreSQL sends them in binary, which its driver reads faster than text."""

    def executemany(self, sql: str, rows: Iterable[Mapping[str, Any]]) -> None: ...

    def copy_rows(
        self,
        table: str,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        meanwhile: Callable[[], object] | None = None,
    ) -> None:
        """Bulk-load rows: COPY on PostgreSQL, executemany on SQLite.

        ``meanwhile`` runs once, after the last row. On PostgreSQL that is before waiting for
        the server to store the rows: the server is the slower side of a COPY (each row is
        checked and indexed there), so the work is hidden behind it, and it runs before the
        load is known to have succeeded. SQLite runs it after its load."""

    def savepoint(self) -> AbstractContextManager[None]:
        """A nested transaction: an exception inside undoes only what was done inside."""

    def pipeline(self) -> AbstractContextManager[None]:
        """Statements inside are sent without waiting for each one's result: one round trip
        for all of them on PostgreSQL (nothing changes on SQLite, which has no round trips).
        Their errors surface by the end of the block; do not read results inside it. Inside a
        pipelined transaction (``Database.transaction(pipelined=True)``) the block adds nothing:
        the transaction's end reads the results, and its errors surface there."""


class BaseConnection:
    """The shared half of both connections; each dialect says how to run and how it fails."""

    dialect: Dialect

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    @contextmanager
    def _errors(self, sql: str) -> Iterator[None]:
        raise NotImplementedError

    def _execute(self, sql: str, params: Mapping[str, Any]) -> Any:
        raise NotImplementedError

    def _run(self, sql: str, params: Params) -> Any:
        with self._errors(sql):
            return self._execute(sql, params or {})

    def execute(self, sql: str, params: Params = None) -> int:
        return self._run(sql, params).rowcount

    def fetchall(self, sql: str, params: Params = None) -> list[dict[str, Any]]:
        return self._run(sql, params).fetchall()

    def fetchone(self, sql: str, params: Params = None) -> dict[str, Any] | None:
        return self._run(sql, params).fetchone()

    def fetchval(self, sql: str, params: Params = None) -> Any:
        row = self._run(sql, params).fetchone()
        return None if row is None else next(iter(row.values()))
