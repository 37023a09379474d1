"""PostgreSQL (psycopg 3) behind :class:`central.db.connection.Connection`: a connection
pool, ``:name`` parameters rewritten for psycopg, binary COPY, pipelined transactions, and
psycopg's errors mapped to ours (:class:`DatabaseUnavailable` for a lost server, so callers
answer 503 or retry). The conventions both databases share are in :mod:`central.db.database`.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
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

_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@lru_cache(maxsize=1024)
def to_pyformat(sql: str) -> str:
    """``:name`` -> ``%(name)s`` (and a literal ``%`` -> ``%%``) for psycopg."""
    return _PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))


_COPY_TYPES: dict[tuple[str, tuple[str, ...]], list[str]] = {}  # the schema is fixed while running
# An unreachable server is reported by the adapter's callers (DatabaseUnavailable: a 503, or
# one warning per outage from a worker); the pool's warning at every reconnection attempt
# would repeat it all through the outage.
logging.getLogger("psycopg.pool").setLevel(logging.ERROR)


def _not_an_aborted_pipeline(record: logging.LogRecord) -> bool:
    """False for psycopg's warning that a pipeline ended aborted while the error that aborted
    it is being raised: that error reaches the caller (a resend's duplicate readings raise
    it, and the batch is stored again without them), so the warning would only alarm
    whoever reads the server's log."""
    args = record.args
    aborted = isinstance(args, tuple) and bool(args) and str(args[-1]) == "pipeline aborted"
    return not (record.msg == "error ignored terminating %r: %s" and aborted)


logging.getLogger("psycopg").addFilter(_not_an_aborted_pipeline)

# SQLSTATE classes of a lost server: connection exceptions, and shutdown or restart
# (57P01-57P04; the rest of class 57 is a cancelled statement, the request's business).
_UNAVAILABLE_STATES = ("08", "57P")


def _unavailable(exc: Exception) -> bool:
    """Whether a psycopg error means the server is out of reach rather than the statement
    wrong: the client lost the connection (no SQLSTATE: closed, reset, pool timeout) or
    the server said it is shutting down or cannot take connections."""
    import psycopg

    state = getattr(exc, "sqlstate", None)
    return isinstance(exc, psycopg.OperationalError) and (state is None or state.startswith(_UNAVAILABLE_STATES))


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class _PostgresConnection(BaseConnection):
    dialect: Dialect = "postgresql"

    def __init__(self, raw: Any) -> None:
        super().__init__(raw)
        self.discard = False  # closed by its transaction's end instead of going back to the pool

    @contextmanager
    def _pipelined(self, what: str) -> Iterator[None]:
        """A psycopg pipeline whose error, if the server reports one, marks the connection to
        be discarded. psycopg prepares a statement on the server at its sixth run on a
        connection, and in a pipeline notes it as prepared when sending it: if an earlier
        statement's error aborts the pipeline, the server never prepares it, yet psycopg
        keeps using its name, and every later run of it on that connection fails ("prepared
        statement _pg3_N does not exist"; a resend's duplicate readings did it under a
        fleet's load). A new connection starts with nothing noted. The caller's own exception
        discards it too when the server had failed a statement (psycopg then drops that error);
        a 401 or a refused batch, with no statement failed, keeps it."""
        from psycopg import pq

        try:
            with self._errors(what), self.raw.pipeline():
                yield
        except BaseException as exc:
            failed = self.raw.info.transaction_status == pq.TransactionStatus.INERROR
            self.discard = self.discard or isinstance(exc, DatabaseError) or failed
            raise

    @contextmanager
    def _errors(self, sql: str) -> Iterator[None]:
        import psycopg

        try:
            yield
        except psycopg.errors.IntegrityError as exc:
            raise IntegrityError(str(exc).strip()) from exc
        except (psycopg.DataError, OverflowError) as exc:
            raise DataError(str(exc).strip()) from exc
        except psycopg.Error as exc:
            if _unavailable(exc):
                raise DatabaseUnavailable(f"PostgreSQL: {_reason(exc)}") from exc
            raise DatabaseError(f"{str(exc).strip()} (en la consulta: {sql.strip()[:200]})") from exc

    def _execute(self, sql: str, params: Mapping[str, Any]) -> Any:
        return self.raw.execute(to_pyformat(sql), params)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        with self.raw.transaction():
            yield

    def executemany(self, sql: str, rows: Iterable[Mapping[str, Any]]) -> None:
        with self._errors(sql), self.raw.cursor() as cursor:
            cursor.executemany(to_pyformat(sql), list(rows))

    def fetchrows(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        from psycopg.rows import tuple_row

        with self._errors(sql), self.raw.cursor(row_factory=tuple_row, binary=True) as cursor:
            return cursor.execute(to_pyformat(sql), params or {}).fetchall()

    @contextmanager
    def pipeline(self) -> Iterator[None]:
        from psycopg import pq

        if self.raw.pgconn.pipeline_status != pq.PipelineStatus.OFF:  # a pipelined transaction's end reads all
            yield
            return
        with self._pipelined("(a pipeline of statements)"):
            yield

    def copy_rows(
        self,
        table: str,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        meanwhile: Callable[[], object] | None = None,
    ) -> None:
        """Binary COPY: several times less client work per row than text for the same rows.
        ``meanwhile`` runs inside the COPY, after the last row: the server is still storing
        the rows then, so work done here costs no extra time (benchmarks/RESULTS.md, "Figures
        cited by the code")."""
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
        with self._errors(statement):
            types = self._column_types(table, tuple(columns))
            with self.raw.cursor() as cursor, cursor.copy(statement) as copy:
                copy.set_types(types)
                for row in rows:
                    copy.write_row(row)
                if meanwhile is not None:
                    meanwhile()

    def _column_types(self, table: str, columns: tuple[str, ...]) -> list[str]:
        key = (table, columns)
        if key not in _COPY_TYPES:
            rows = self.raw.execute(
                "SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute"
                " WHERE attrelid = CAST(%(t)s AS regclass) AND attnum > 0 AND NOT attisdropped",
                {"t": table},
            ).fetchall()
            found = {row["attname"]: row["type"] for row in rows}
            _COPY_TYPES[key] = [found[column] for column in columns]
        return _COPY_TYPES[key]


@contextmanager
def _pipelined_transaction(connection: _PostgresConnection) -> Iterator[None]:
    """BEGIN and COMMIT sent as plain statements of a pipeline (psycopg's own transaction
    waits for each); an error anywhere rolls back. The connection goes back to the pool in
    its usual state (no transaction, autocommit off), unless marked to be discarded."""
    import psycopg
    from psycopg import pq

    raw = connection.raw
    raw.autocommit = True
    try:
        with connection._pipelined("(a pipelined transaction)"):
            raw.execute("BEGIN")
            yield
            raw.execute("COMMIT")
    except BaseException:
        if not connection.discard and raw.info.transaction_status in (
            pq.TransactionStatus.INTRANS,
            pq.TransactionStatus.INERROR,
        ):
            raw.execute("ROLLBACK")
        raise
    finally:
        with contextlib.suppress(psycopg.Error):  # a broken connection: the pool discards it
            raw.autocommit = False


class PostgresDatabase:
    """A psycopg connection pool. Sessions run in UTC."""

    dialect: Dialect = "postgresql"

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10, wait_s: float = 10) -> None:
        """``wait_s``: how long a caller waits for a free connection (or for the server to
        come back) before :class:`DatabaseUnavailable`."""
        import psycopg
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool

        self.url = url
        try:  # one direct attempt first: a clear error at once instead of the pool's retries
            psycopg.connect(url, connect_timeout=5).close()
        except psycopg.Error as exc:
            raise DatabaseError(f"no se puede conectar a PostgreSQL en {redact_url(url)}: {_reason(exc)}") from None
        self._pool = ConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            kwargs={"row_factory": dict_row, "options": "-c timezone=UTC"},
            open=False,
            timeout=wait_s,
        )
        try:
            self._pool.open(wait=True, timeout=10)
        except Exception as exc:
            self._pool.close()
            raise DatabaseError(f"no se puede conectar a PostgreSQL en {redact_url(url)}: {exc}") from exc

    @contextmanager
    def transaction(self, *, pipelined: bool = False) -> Iterator[Connection]:
        """A transaction on a connection from the pool.

        ``pipelined``: in pipeline mode from BEGIN to COMMIT, for a short transaction run
        very often (a gateway's batch). A statement is sent without waiting for its result
        and only a read waits, so BEGIN travels with the first read and COMMIT with the
        writes after the last one: two round trips fewer than psycopg's transaction, which
        waits for BEGIN and for COMMIT on their own. Errors surface by the first read after
        them or by the end of the block; COPY cannot run inside."""
        with self._checked_out() as connection:
            if pipelined:
                with _pipelined_transaction(connection):
                    yield connection
            else:
                with connection.raw.transaction():
                    yield connection

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """An autocommit connection from the pool (each statement commits on its own)."""
        with self._checked_out() as connection:
            connection.raw.autocommit = True
            try:
                yield connection
            finally:
                if not connection.discard:
                    connection.raw.autocommit = False

    @contextmanager
    def _checked_out(self) -> Iterator[_PostgresConnection]:
        """A connection from the pool; one marked to be discarded is closed instead of given
        back (the pool replaces it), and a lost server is :class:`DatabaseUnavailable`."""
        import psycopg

        try:
            with self._pool.connection() as raw:
                connection = _PostgresConnection(raw)
                try:
                    yield connection
                finally:
                    if connection.discard:
                        raw.close()
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailable(f"PostgreSQL: {_reason(exc)}") from exc

    def close(self) -> None:
        self._pool.close()


def redact_url(url: str) -> str:
    """The URL with any password replaced, for messages and logs."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)
