"""The buffer's figures (depth, oldest reading, drops, live bytes) read from an open SQLite file.

Shared by the agent's :class:`edge.buffer.Buffer` and the read-only :mod:`edge.bufferread` that
``caudal edge status`` uses, so the status command reads the figures without importing the
writer (its lock, its budget, its disk-full handling).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from edge.bufferrows import from_us


@dataclass(frozen=True)
class BufferStats:
    """What ``caudal edge status`` and the uplink heartbeat report about the backlog.

    ``oldest_ts`` is the sample time of the oldest pending reading (by seq); ``newest_seq``
    the last seq ever assigned; ``size_bytes`` the live (non-free) bytes the budget governs.
    """

    depth: int
    oldest_ts: datetime | None
    newest_seq: int | None
    dropped_total: int
    size_bytes: int


def used_bytes(conn: sqlite3.Connection) -> int:
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    return (pages - free) * page_size


def count_pending(conn: sqlite3.Connection) -> int:
    """How many readings the buffer holds: a scan of the whole table (see :meth:`edge.buffer.Buffer.stats`)."""
    return conn.execute("SELECT count(*) FROM readings").fetchone()[0]


def read_stats_from(conn: sqlite3.Connection, lost: int, depth: int | None = None) -> BufferStats:
    """The stats of an open buffer; ``lost`` is the ``.lost`` file's count, part of ``dropped_total``;
    ``depth`` the readings it holds when the caller knows (else they are counted)."""
    depth = count_pending(conn) if depth is None else depth
    oldest = conn.execute("SELECT ts_us FROM readings ORDER BY seq LIMIT 1").fetchone()
    newest = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'readings'").fetchone()
    dropped = conn.execute("SELECT value FROM meta WHERE key = 'dropped_total'").fetchone()
    return BufferStats(
        depth=depth,
        oldest_ts=from_us(oldest[0]) if oldest else None,
        newest_seq=newest[0] if newest else None,
        dropped_total=(dropped[0] if dropped else 0) + lost,
        size_bytes=used_bytes(conn),
    )
