"""The stored readings as readers see them: ``readings`` and, on PostgreSQL, the compacted hours.

Compaction (:mod:`.compaction`) moves the readings of old hours into ``readings_compact``, one
row per point, hour and variable with arrays. Every reader goes through this module, so an
answer is the same before and after compaction:

- :func:`source` gives the table text to read a point's range from: plain ``readings`` where
  nothing is compacted (SQLite, or a range starting at or after ``reach``), else both unioned;
- :func:`not_compacted` is the condition that keeps a reading out of ``readings`` when a
  compacted row already holds it (a gateway resending a reading of an hour compacted since:
  stored once, seen once, the compacted copy wins);
- :func:`keyset_page` is the one statement of a keyset page from both (the compacted side
  unpacked hour by hour, not a year sorted), consistent while a compaction batch commits;
- :func:`last_before` finds a point's last reading before a time in both, and
  :func:`last_value_sql` is the same as an expression for a query over many points.

A reading after ``reach`` (``readings_compaction.reach``) can be in ``readings`` only, so
queries of recent data run as they did before compaction existed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from central.db import Connection

COLUMNS = ("point_id", "ts", "variable", "value", "raw_value", "unit", "quality", "flags")
_OFFSET_US = "CAST(extract(epoch FROM {a}.ts - date_trunc('hour', {a}.ts)) * 1000000 AS BIGINT)"
_COMPACT = (
    "SELECT c.point_id, c.hour + x.offset_us * interval '1 microsecond' AS ts, c.variable, x.value, x.raw_value,"
    " COALESCE(c.unit, x.unit) AS unit, COALESCE(c.quality, x.quality) AS quality, x.flags, c.hour"
    " FROM readings_compact c CROSS JOIN LATERAL"
    " unnest(c.offsets_us, c.vals, c.raw_values, c.units, c.qualities, c.flags)"
    " AS x (offset_us, value, raw_value, unit, quality, flags)"
)


def reach(conn: Connection) -> datetime | None:
    """Where compacted hours end (``None``: nothing compacted, or SQLite, which never compacts)."""
    if conn.dialect != "postgresql":
        return None
    return conn.fetchval("SELECT reach FROM readings_compaction WHERE id = 1")


def not_compacted(dialect: str, alias: str = "readings") -> str:
    """`` AND`` a condition on ``alias`` (a row of ``readings``): no compacted row holds the same
    reading. Checked only before ``reach``; empty on SQLite."""
    if dialect != "postgresql":
        return ""
    return (
        f" AND NOT ({alias}.ts < COALESCE((SELECT reach FROM readings_compaction WHERE id = 1), '-infinity')"
        " AND EXISTS (SELECT 1 FROM readings_compact k WHERE k.point_id = "
        f"{alias}.point_id AND k.hour = date_trunc('hour', {alias}.ts) AND k.variable = {alias}.variable"
        f" AND {_OFFSET_US.format(a=alias)} = ANY(k.offsets_us)))"
    )


def compacted(conn: Connection, start: datetime | None) -> bool:
    """Whether a range from ``start`` (None: from the beginning) may hold compacted hours."""
    until = reach(conn)
    return until is not None and (start is None or start < until)


def source(
    conn: Connection, point: str, start: datetime | None, end: str | None = None, *, low: str | None = None
) -> tuple[str, dict[str, Any]]:
    """The table text to read a point's readings from ``start`` on, named ``readings``, and
    the parameters it adds (``point`` and ``end`` are SQL expressions, ``end`` None: no end).
    The caller filters ``point_id``, ``ts`` and ``variable`` as on ``readings``; the compacted
    side is bounded here by hour so that it reads only the hours of the range. ``low``: an SQL
    expression for that bound instead of ``start`` (a statement over many ranges bounds each
    by its own start; ``start``, the earliest, still decides whether compacted hours are read)."""
    if not compacted(conn, start):
        return "readings", {}
    bound = low or "CAST(:stored_start AS TIMESTAMPTZ)"
    bounds = "" if start is None else f" AND c.hour > {bound} - interval '1 hour'"
    bounds += "" if end is None else f" AND c.hour <= {end}"
    columns = ", ".join(COLUMNS)
    return (
        f"(SELECT {columns} FROM readings WHERE point_id = {point}{not_compacted('postgresql')}"
        f" UNION ALL SELECT {columns} FROM ({_COMPACT} WHERE c.point_id = {point}{bounds}) k) readings",
        {} if start is None or low else {"stored_start": start},
    )


def keyset_page(dialect: str, columns: str, where: str, after: str) -> str:
    """One statement for a keyset page of ``readings`` and the compacted hours: the first
    ``:page_limit`` rows in (ts, variable) order of both that pass ``where`` (conditions on
    ``point_id``, ``ts`` and ``variable``) and ``after`` (the keyset condition, or empty).
    ``:first_hour`` (the start of the first hour the page can hold) and ``:end`` bound the
    compacted hours read.

    One statement reads one snapshot, so a compaction batch committing meanwhile is seen
    whole or not at all: each reading once, with no fence to read or page to read again.
    Each side stops at the page's size: ``readings`` in its index order, the compacted rows
    by hour in their index order, each hour's readings sorted as it is reached, so a page
    deep into a year unpacks only about the hours it returns. SQLite: ``readings`` alone."""
    loose = (
        f"SELECT {columns} FROM readings WHERE {where}{after}{not_compacted(dialect)}"
        " ORDER BY ts, variable LIMIT :page_limit"
    )
    if dialect != "postgresql":
        return loose
    packed = (
        f"SELECT {columns} FROM ({_COMPACT} WHERE c.hour >= :first_hour AND c.hour < :end"
        " AND c.hour < (SELECT reach FROM readings_compaction WHERE id = 1)) readings"
        f" WHERE {where}{after} ORDER BY hour, ts, variable LIMIT :page_limit"
    )
    return f"SELECT {columns} FROM (({loose}) UNION ALL ({packed})) page ORDER BY ts, variable LIMIT :page_limit"


def hour_floor(t: datetime) -> datetime:
    """The start of ``t``'s UTC hour."""
    return t.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def last_before(
    conn: Connection, point_id: int, variable: str, ts: datetime, condition: str = "", columns: str = "ts, value"
) -> dict[str, Any] | None:
    """The point's last reading of ``variable`` before ``ts`` with a value (and ``condition``,
    SQL on the row), from ``readings`` and the compacted hours: whichever is later."""
    params = {"p": point_id, "v": variable, "ts": ts}
    where = f"point_id = :p AND variable = :v AND ts < :ts AND value IS NOT NULL{condition}"
    loose = conn.fetchone(
        f"SELECT {columns} FROM readings WHERE {where}{not_compacted(conn.dialect)} ORDER BY ts DESC LIMIT 1", params
    )
    if not compacted(conn, None):
        return loose
    packed = conn.fetchone(
        f"SELECT {columns} FROM ({_COMPACT} WHERE c.point_id = :p AND c.variable = :v"
        f" AND c.hour < :ts) k WHERE {where} ORDER BY hour DESC, ts DESC LIMIT 1",
        params,
    )
    candidates = [row for row in (loose, packed) if row is not None]
    return max(candidates, key=itemgetter("ts")) if candidates else None


def last_value_sql(dialect: str, point: str, variable: str, before: str) -> str:
    """An SQL expression: the last ``value`` (not null) of ``variable`` of the point ``point``
    before ``before`` (SQL expressions of the enclosing query), from ``readings`` and, on
    PostgreSQL, the compacted hours: whichever is later. ``variable`` is a name, not user text."""
    where = f"point_id = {point} AND variable = '{variable}' AND value IS NOT NULL"
    loose = (
        f"SELECT ts, value FROM readings WHERE {where} AND ts < {before}{not_compacted(dialect)}"
        " ORDER BY ts DESC LIMIT 1"
    )
    if dialect != "postgresql":
        return f"({loose.replace('ts, value', 'value', 1)})"
    packed = (
        f"SELECT ts, value FROM ({_COMPACT} WHERE c.point_id = {point} AND c.variable = '{variable}'"
        f" AND c.hour < {before}) k WHERE value IS NOT NULL AND ts < {before} ORDER BY hour DESC, ts DESC LIMIT 1"
    )
    return f"(SELECT value FROM (({loose}) UNION ALL ({packed})) last ORDER BY ts DESC LIMIT 1)"
