"""Monthly partitions of ``readings`` on PostgreSQL, created ahead of the rows that need them.

Migration 0150 made ``readings`` a table partitioned by ``ts`` in UTC months: the rows stored
before it are the partition ``readings_before_partitions`` (every time before the first day
of the month after the migration), and each later month is a partition of its own,
``readings_YYYY_MM``. A row whose month has no partition would be refused, so the rollup
worker (every pass, on every telemetry replica) makes sure the current month and the next
:data:`MONTHS_AHEAD` exist; replicas doing it at once wait for each other on an advisory
lock. Queries, ingest's COPY and ``ON CONFLICT`` go through the parent table unchanged.

SQLite keeps one ``readings`` table: there is nothing to create there.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import NamedTuple

from central.db import Connection

MONTHS_AHEAD = 2
_LOCK_KEY = 7_406_150  # serialises replicas creating the same month
_UPPER_BOUND = re.compile(r"TO \('([^']+)'\)")
_BOUNDS = re.compile(r"FROM \((?:MINVALUE|'([^']+)')\) TO \('([^']+)'\)")


def month_start(t: datetime) -> datetime:
    """The first instant of ``t``'s UTC month."""
    return t.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month(t: datetime) -> datetime:
    """The first instant of the UTC month after ``t``'s."""
    start = month_start(t)
    return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)


def partition_name(month: datetime) -> str:
    return f"readings_{month:%Y_%m}"


def covered_until(conn: Connection) -> datetime | None:
    """Where the partitions of ``readings`` end (``None``: not partitioned, as on SQLite)."""
    if conn.dialect != "postgresql":
        return None
    rows = conn.fetchall(
        "SELECT pg_get_expr(c.relpartbound, c.oid) AS bound FROM pg_inherits i"
        " JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = CAST('readings' AS regclass)"
    )
    uppers = [datetime.fromisoformat(match[1]) for row in rows if (match := _UPPER_BOUND.search(row["bound"]))]
    return max(uppers) if uppers else None


def ensure_ahead(conn: Connection, now: datetime, months: int = MONTHS_AHEAD) -> list[str]:
    """Create the monthly partitions missing up to the end of the ``months``-th month after
    ``now``'s; returns their names (none on SQLite, none when they all exist)."""
    until = covered_until(conn)
    if until is None:
        return []
    target = month_start(now)
    for _ in range(months + 1):
        target = next_month(target)
    if until >= target:
        return []
    conn.execute("SELECT pg_advisory_xact_lock(:key)", {"key": _LOCK_KEY})
    start, created = covered_until(conn) or target, []
    while start < target:
        end = next_month(start)
        conn.execute(
            f"CREATE TABLE {partition_name(start)} PARTITION OF readings"
            f" FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
        )
        created.append(partition_name(start))
        start = end
    return created


class Partition(NamedTuple):
    parent: str
    name: str
    lower: datetime | None  # None: from the beginning of time
    upper: datetime


def attached(conn: Connection) -> list[Partition]:
    """The partitions of ``readings`` and ``readings_compact`` (migration 0160) with their bounds."""
    rows = conn.fetchall(
        "SELECT CAST(CAST(i.inhparent AS regclass) AS text) AS parent, c.relname AS name,"
        " pg_get_expr(c.relpartbound, c.oid) AS bound FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent IN (CAST('readings' AS regclass), CAST('readings_compact' AS regclass))"
    )
    found = []
    for row in rows:
        match = _BOUNDS.search(row["bound"])
        if match:
            lower = None if match[1] is None else datetime.fromisoformat(match[1])
            found.append(Partition(row["parent"], row["name"], lower, datetime.fromisoformat(match[2])))
    return found
