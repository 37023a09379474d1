"""The gateway's durable buffer: every reading stays on disk until the central server acknowledged it.

Field notes 6, 7 and 9: a memory buffer loses an outage's data, a reconnect path must never
wipe it, and SD cards wear out under many small syncs. So:

* One SQLite file in WAL mode, owned by the agent alone (an exclusive lock file refuses a
  second writer); config reloads and uplink reconnects never touch it.
* ``synchronous=FULL``. In WAL mode NORMAL only loses data on *power* loss (a killed process
  loses nothing either way), but it may lose every commit since the last checkpoint, and
  gateways without a UPS lose power. With one transaction per poll cycle, FULL costs one
  fsync of the WAL per cycle (~1/min/device group): negligible wear for readings that are
  regulatory evidence. The WAL append is sequential, so it is the cheapest fsync we can buy.
* ``seq`` is ``INTEGER PRIMARY KEY AUTOINCREMENT``: never reused, even after deletes, so an
  acknowledged seq can never come back as a different reading.
* Timestamps are stored as UTC epoch microseconds (``ts_us``): compact, exact, sortable, no
  time zone to misread.
* Disk budget ``max_mb``: when live pages exceed it, the oldest readings are dropped down to
  90 % of the budget, counted in a persistent ``dropped_total`` and logged. SQLite's
  ``max_page_count`` caps the file at 125 % of the budget, so a runaway cycle and a full disk
  reach the same path: ``SQLITE_FULL`` -> drop oldest -> retry, never a crash.
* A full disk must not stop the agent (issue 13): opening writes nothing unless the file is new
  or of an older schema; a write that finds the disk full first releases the disk reserve
  beside the buffer (:mod:`edge.bufferfiles`), else restarts the WAL from its beginning, and
  retries once. A cycle that still does not fit is lost, and counted in the pre-allocated
  ``.lost`` file, which survives a kill or power cut; ``dropped_total`` is both counts.
  The WAL is checkpointed every ``WAL_PAGES`` pages so that it fits in the reserve.
* ``caudal edge status`` reads through :mod:`edge.bufferread` (read-only, never a write, never
  the lock), so a technician in the buffer's group can run it while the agent runs or not; both
  compute the figures with :mod:`edge.bufferstats`.

All calls are synchronous and short (one transaction each); the agent calls them from its
event loop.
"""

from __future__ import annotations

import fcntl
import json
import logging
import math
import os
import sqlite3
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TypeVar

from edge.bufferfiles import LostCounter, Reserve, lost_path, reserve_path
from edge.bufferrows import PolledReading, Row, RowMaker, to_reading
from edge.bufferstats import BufferStats, count_pending, read_stats_from, used_bytes
from protocols.uplink import Reading, StoredRow

log = logging.getLogger("caudal.edge.buffer")

MIN_BUDGET_MB = 0.1
LOW_WATER = 0.9  # after a drop, live data is at most this share of the budget
HARD_CAP = 1.25  # max_page_count as a multiple of the budget
FULL_RETRY_SHARE = 0.05  # on SQLITE_FULL drop at least this share of the backlog before retrying
SCHEMA_VERSION = 1
WAL_PAGES = 128  # wal_autocheckpoint: 512 KiB of 4 KiB pages, half the disk reserve

SCHEMA = """
CREATE TABLE IF NOT EXISTS readings (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    device TEXT NOT NULL,
    point TEXT NOT NULL,
    variable TEXT NOT NULL,
    ts_us INTEGER NOT NULL,
    value REAL,
    unit TEXT NOT NULL,
    quality TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('dropped_total', 0);
"""
INSERT = "INSERT INTO readings (device, point, variable, ts_us, value, unit, quality) VALUES (?, ?, ?, ?, ?, ?, ?)"
SELECT_PENDING = "SELECT seq, device, point, variable, ts_us, value, unit, quality FROM readings ORDER BY seq LIMIT ?"
SELECT_PENDING_EXCEPT = (
    "SELECT seq, device, point, variable, ts_us, value, unit, quality FROM readings"
    " WHERE point NOT IN (SELECT value FROM json_each(?)) ORDER BY seq LIMIT ?"
)
SELECT_ROWS = (
    "SELECT seq, device, point, variable, ts_us, value, unit, quality FROM readings WHERE seq > ? ORDER BY seq LIMIT ?"
)
SELECT_ROWS_EXCEPT = (
    "SELECT seq, device, point, variable, ts_us, value, unit, quality FROM readings WHERE seq > ?"
    " AND point NOT IN (SELECT value FROM json_each(?)) ORDER BY seq LIMIT ?"
)
DELETE_SEQS = "DELETE FROM readings WHERE seq IN (SELECT value FROM json_each(?))"
DELETE_RANGE = "DELETE FROM readings WHERE seq BETWEEN ? AND ?"
DROP_OLDEST = "DELETE FROM readings WHERE seq IN (SELECT seq FROM readings ORDER BY seq LIMIT ?)"

T = TypeVar("T")


class BufferUnusable(RuntimeError):
    """The buffer file cannot be opened: not a database, unreadable, or owned by another process."""


class BufferInUse(BufferUnusable):
    """Another process already owns this buffer file."""


def rows_to_drop(used: int, target: int, depth: int) -> int:
    """How many of the oldest rows to drop to bring ``used`` bytes down to ``target`` (pure)."""
    if used <= target or depth == 0:
        return 0
    per_row = used / depth
    return min(depth, max(1, math.ceil((used - target) / per_row)))


def is_full(exc: sqlite3.Error) -> bool:
    """The disk (or the file's page cap) has no room: SQLITE_FULL, or no room for the WAL index."""
    return getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR_SHMSIZE)


def lock_exclusively(path: Path) -> int:
    """Take the buffer's lock file so a second agent on the same file fails loudly."""
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise BufferInUse(
            f"el buffer del gateway {path} ya lo tiene abierto otro proceso (bloqueo {lock_path})"
        ) from None
    return fd


def open_for_agent(path: Path, max_bytes: int) -> sqlite3.Connection:
    """Open (creating if needed) with the pragmas the module docstring explains. Nothing is
    written unless the file is new or of an older schema, so this works on a full disk."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=5)
    try:
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal":
                raise sqlite3.OperationalError(f"SQLite no aceptó el modo WAL (journal mode es {mode!r})")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(f"PRAGMA wal_autocheckpoint={WAL_PAGES}")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count={math.ceil(max_bytes * HARD_CAP / page_size)}")
        migrate(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def migrate(conn: sqlite3.Connection) -> None:
    """Create the schema, or bring an older one up to date, in one transaction; else write nothing."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise sqlite3.DatabaseError(
            f"lo escribió un agente más nuevo (esquema {version}; este agente conoce el {SCHEMA_VERSION})"
        )
    conn.executescript(f"BEGIN IMMEDIATE; {SCHEMA} PRAGMA user_version={SCHEMA_VERSION}; COMMIT;")


def open_with_room(path: Path, max_bytes: int, reserve: Reserve) -> sqlite3.Connection:
    """On a full disk the WAL index and the WAL need room: the reserve gives it back."""
    try:
        return open_for_agent(path, max_bytes)
    except sqlite3.OperationalError as exc:
        if not is_full(exc) or not reserve.release_if_disk_full():
            raise
    return open_for_agent(path, max_bytes)


class Buffer:
    """The on-disk queue between the poller (``append``) and the uploader (``pending``/``acknowledge``)."""

    def __init__(self, conn: sqlite3.Connection, path: Path, max_bytes: int, lock_fd: int, reserve: Reserve) -> None:
        self._conn = conn
        self.path = path
        self.max_bytes = max_bytes
        self._lock_fd = lock_fd
        self._reserve = reserve
        self._lost = LostCounter(lost_path(path))
        self._depth: int | None = None  # readings held, kept by every write once counted (see stats)
        self._rows = RowMaker()

    @classmethod
    def open(cls, path: Path | str, max_mb: float = 512) -> Buffer:
        """Open or create the buffer at ``path`` with a disk budget of ``max_mb`` megabytes."""
        if not max_mb >= MIN_BUDGET_MB:
            raise ValueError(f"max_mb del buffer del gateway debe ser al menos {MIN_BUDGET_MB}, se recibió {max_mb}")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        max_bytes = int(max_mb * 1024 * 1024)
        lock_fd = lock_exclusively(path)
        reserve = Reserve(reserve_path(path))
        try:
            conn = open_with_room(path, max_bytes, reserve)
        except sqlite3.DatabaseError as exc:
            os.close(lock_fd)
            reason = f"el disco está lleno; libere espacio en {path.parent}" if is_full(exc) else str(exc)
            raise BufferUnusable(f"no se puede abrir el buffer del gateway {path}: {reason}") from exc
        except BaseException:
            os.close(lock_fd)
            raise
        buffer = cls(conn, path, max_bytes, lock_fd, reserve)
        reserve.restore()
        return buffer

    def __enter__(self) -> Buffer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def append(self, readings: Sequence[PolledReading]) -> int:
        """Store one poll cycle in one transaction; returns how many readings were stored.

        Raises ``ValueError`` naming the first invalid reading (nothing is written). Over the
        budget the oldest readings are dropped; on ``SQLITE_FULL`` too, then the cycle is retried.
        """
        rows = self._rows.rows(readings)
        if not rows:
            return 0
        stored = self._store(rows)
        self._reserve.restore()
        self._lost.flush()
        return stored

    def pending(self, limit: int = 5000, skip_points: Collection[str] = ()) -> list[Reading]:
        """Up to ``limit`` unacknowledged readings, oldest first, but none of ``skip_points``
        (held back while the server refuses them, see :mod:`edge.held`)."""
        if not skip_points:
            return [to_reading(row) for row in self._conn.execute(SELECT_PENDING, (limit,))]
        skipped = json.dumps(sorted(skip_points))
        return [to_reading(row) for row in self._conn.execute(SELECT_PENDING_EXCEPT, (skipped, limit))]

    def pending_rows(self, limit: int = 5000, skip_points: Collection[str] = (), after_seq: int = 0) -> list[StoredRow]:
        """Like :meth:`pending`, as stored (:data:`protocols.uplink.StoredRow`), from ``after_seq`` on.

        For the uploader: every row was validated against the wire schema when it was
        appended (:func:`to_row`), so rebuilding a model per row only to serialise it again
        cost a backlog drain most of its agent CPU (issue 16). ``after_seq`` lets the next
        batch be read while the previous one is in flight.
        """
        if not skip_points:
            return self._conn.execute(SELECT_ROWS, (after_seq, limit)).fetchall()
        return self._conn.execute(SELECT_ROWS_EXCEPT, (after_seq, json.dumps(sorted(skip_points)), limit)).fetchall()

    def acknowledge(self, seqs: Iterable[int]) -> int:
        """Delete exactly these seqs (the server has them); returns how many were deleted."""
        wanted = json.dumps([int(seq) for seq in seqs])
        return self._with_room(lambda: self._delete(DELETE_SEQS, (wanted,)))

    def acknowledge_range(self, first: int, last: int) -> int:
        """Delete every reading from seq ``first`` to ``last``: for a batch that :meth:`pending_rows`
        read without skipping points, which holds every reading of that range (a seq is never
        reused, so none can join it later). One range scan instead of a list of seqs to look up."""
        return self._with_room(lambda: self._delete(DELETE_RANGE, (first, last)))

    def stats(self) -> BufferStats:
        """The buffer's figures, sent with every upload: the readings held are counted once, then
        kept by each write, because counting them scans the whole table and a backlog drain paid
        that scan for every batch (issue 16)."""
        if self._depth is None:
            self._depth = count_pending(self._conn)
        return read_stats_from(self._conn, self._lost.total, self._depth)

    def close(self) -> None:
        """Close the database (checkpointing the WAL), then release the lock."""
        self._conn.close()
        self._lost.close()
        os.close(self._lock_fd)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE .. COMMIT, rolled back on any error."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise

    def _with_room(self, write: Callable[[], T]) -> T:
        """Run a write; if the disk is full, give back the reserve (else restart the WAL) and retry once."""
        try:
            return write()
        except sqlite3.OperationalError as exc:
            if not is_full(exc):
                raise
        if not self._reserve.release_if_disk_full():
            self._restart_wal()
        return write()

    def _restart_wal(self) -> None:
        """Best effort: copy the WAL into the file so that the next write reuses the WAL's space."""
        with suppress(sqlite3.Error):
            self._conn.execute("PRAGMA wal_checkpoint(RESTART)")

    def _store(self, rows: list[Row]) -> int:
        try:
            self._with_room(lambda: self._insert(rows))
        except sqlite3.OperationalError as exc:
            if not is_full(exc):
                raise
            return self._append_after_full(rows)
        return len(rows)

    def _insert(self, rows: list[Row]) -> None:
        with self._transaction():
            self._conn.executemany(INSERT, rows)
            dropped = self._enforce_budget()
        self._held_more(len(rows) - dropped)

    def _delete(self, statement: str, params: tuple[object, ...]) -> int:
        with self._transaction():
            deleted = self._conn.execute(statement, params).rowcount
        self._held_more(-deleted)
        return deleted

    def _held_more(self, change: int) -> None:
        """A committed write changed the readings held by ``change`` (once they are counted)."""
        if self._depth is not None:
            self._depth += change

    def _enforce_budget(self) -> int:
        """Inside the append's transaction: over budget, drop the oldest down to the low-water mark;
        returns how many were dropped."""
        used = used_bytes(self._conn)
        if used <= self.max_bytes:
            return 0
        target = int(self.max_bytes * LOW_WATER)
        depth = self._conn.execute("SELECT count(*) FROM readings").fetchone()[0]
        dropped = 0
        while n := rows_to_drop(used, target, depth):
            self._conn.execute(DROP_OLDEST, (n,))
            dropped, depth, used = dropped + n, depth - n, used_bytes(self._conn)
        self._add_dropped(dropped)
        log.warning(
            "buffer del gateway %s sobre su límite de %g MB: se descartaron las %d lecturas más antiguas",
            self.path,
            self.max_bytes / 2**20,
            dropped,
        )
        return dropped

    def _add_dropped(self, count: int) -> None:
        self._conn.execute("UPDATE meta SET value = value + ? WHERE key = 'dropped_total'", (count,))

    def _append_after_full(self, rows: list[Row]) -> int:
        """SQLITE_FULL: drop the oldest, retry once; if it still does not fit, the cycle is lost,
        counted in the ``.lost`` file before it is logged."""
        try:
            dropped = self._drop_for(len(rows))
            self._insert(rows)
        except sqlite3.OperationalError as exc:
            if not is_full(exc):
                raise
            self._lost.add(len(rows))
            log.error(
                "buffer del gateway %s lleno aun tras descartar las lecturas más antiguas: se perdió un ciclo de"
                " lectura de %d lecturas",
                self.path,
                len(rows),
            )
            return 0
        log.warning(
            "buffer del gateway %s: disco lleno, se descartaron las %d lecturas más antiguas para guardar el ciclo",
            self.path,
            dropped,
        )
        return len(rows)

    def _drop_for(self, incoming: int) -> int:
        """Make room for ``incoming`` rows: drop that many oldest rows, or 5 % of the backlog if more."""
        self._restart_wal()
        with self._transaction():
            depth = self._conn.execute("SELECT count(*) FROM readings").fetchone()[0]
            count = min(depth, max(incoming, math.ceil(depth * FULL_RETRY_SHARE)))
            self._conn.execute(DROP_OLDEST, (count,))
            self._add_dropped(count)
        self._depth = depth - count
        return count
