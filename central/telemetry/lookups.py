"""What other domains read of telemetry's tables: stored readings, latest values and meter swaps.

telemetry owns these tables (``central/db/ownership.py``); the alert evaluator and compliance
read them through these functions, so neither names a table of telemetry's. Rows are plain
dicts; the caller maps them to its own types.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from central.core import lookups as core_lookups
from central.db import Connection
from central.telemetry import stored


def readings_from(conn: Connection, point_id: int, start: datetime, limit: int) -> list[tuple[Any, ...]]:
    """Up to ``limit`` readings of the point at or after ``start``, oldest first, as tuples
    (``point_id``, ``ts``, ``variable``, ``value``, ``quality``): the alerts role reads a
    backlog's point 20,000 at a time, and a dict per row was most of its reading's cost."""
    table, params = stored.source(conn, ":p", start)
    return conn.fetchrows(
        f"SELECT point_id, ts, variable, value, quality FROM {table} WHERE point_id = :p AND ts >= :ts"
        " ORDER BY ts, variable LIMIT :n",
        {**params, "p": point_id, "ts": start, "n": limit},
    )


def readings_between(
    conn: Connection, point_id: int, variables: Iterable[str], start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Readings of ``variables`` with ``start <= ts <= end``, oldest first (``ts``, ``variable``,
    ``value``, ``quality``)."""
    names = {f"v{i}": name for i, name in enumerate(variables)}
    table, params = stored.source(conn, ":p", start, ":end")
    return conn.fetchall(
        f"SELECT ts, variable, value, quality FROM {table} WHERE point_id = :p AND variable IN"
        f" ({', '.join(':' + n for n in names)}) AND ts >= :start AND ts <= :end ORDER BY ts, variable",
        {**params, "p": point_id, "start": start, "end": end, **names},
    )


def point_last_seen(conn: Connection) -> dict[int, datetime]:
    """Newest reading with a value per point, from the latest row of each variable.

    The max is taken here, not with ``MAX(ts)``: an aggregate loses the column's type on SQLite
    (it comes back as text), a plain row keeps it on both databases.
    """
    seen: dict[int, datetime] = {}
    for row in conn.fetchall("SELECT point_id, ts FROM latest_readings WHERE value IS NOT NULL"):
        if row["point_id"] not in seen or row["ts"] > seen[row["point_id"]]:
            seen[row["point_id"]] = row["ts"]
    return seen


def totalizer_at_edge(
    conn: Connection, point_id: int, start: datetime, end: datetime, newest: bool
) -> dict[str, Any] | None:
    """The first (or, ``newest``, the last) good totalizer reading in ``[start, end)``: ``ts``, ``value``."""
    table, params = stored.source(conn, ":p", start, ":end")
    return conn.fetchone(
        f"SELECT ts, value FROM {table} WHERE point_id = :p AND variable = 'totalizer' AND value IS NOT NULL"
        f" AND quality IN ('good', 'clock_unsynced') AND ts >= :start AND ts < :end ORDER BY ts"
        f" {'DESC' if newest else 'ASC'} LIMIT 1",
        {**params, "p": point_id, "start": start, "end": end},
    )


def last_totalizer_before(conn: Connection, point_id: int, ts: datetime) -> Any:
    """The point's last totalizer count before ``ts`` (None without one)."""
    last = stored.last_before(conn, point_id, "totalizer", ts)
    return None if last is None else last["value"]


def meter_changes_between(conn: Connection, point_id: int, after: datetime, until: datetime) -> list[dict[str, Any]]:
    """The point's meter swaps in ``(after, until]``, oldest first: ``ts``, ``old_final_m3``, ``new_base_m3``."""
    return conn.fetchall(
        "SELECT ts, old_final_m3, new_base_m3 FROM meter_changes WHERE point_id = :p AND ts > :after"
        " AND ts <= :until ORDER BY ts",
        {"p": point_id, "after": after, "until": until},
    )


def latest_values(conn: Connection, user_id: int | None) -> list[dict[str, Any]]:
    """The stored latest value of each variable of every point the user ``user_id`` may see
    (None: every point): ``point_id``, ``variable``, ``ts``, ``value``."""
    mine = "" if user_id is None else f" WHERE point_id IN {core_lookups.visible_point_ids_sql(':u')}"
    return conn.fetchall(f"SELECT point_id, variable, ts, value FROM latest_readings{mine}", {"u": user_id})
