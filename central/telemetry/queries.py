"""Reading the stored series: pages of readings, CSV export, latest values, meter swaps.

Readings are ordered by (ts, variable), the table's key order after the point, and paged
by keyset: an opaque ``cursor`` (the last row's ts and variable) says where the next page
starts, so a page deep into a year costs what the first one costs (the primary key index is
entered at the cursor; nothing is skipped or counted) and a walk stays right while new
readings arrive. Counting the whole selection scans it, so it is done only when asked.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import msgspec

from central.core import lookups
from central.core.audit import store as audit
from central.core.auth.models import User
from central.csv_dialects import Dialect, more_rows, preamble
from central.db import Connection, Database
from central.messages_es import BAD_CURSOR
from central.pagination import Page, PageQuery, fetch_page
from central.telemetry import stored

READING_COLUMNS = "ts, variable, value, raw_value, unit, quality, flags"
CSV_HEADER = ("ts", "variable", "value", "unit", "quality", "flags", "raw_value")
CSV_CHUNK = 10_000


class CursorError(ValueError):
    """A ``cursor`` that this server did not hand out."""


class ReadingFilter(NamedTuple):
    point_id: int
    start: datetime
    end: datetime
    variable: str | None = None


def iso_z(ts: datetime) -> str:
    """UTC ISO 8601 with ``Z``, the way the JSON answers write times."""
    text = ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{ts.microsecond:06d}Z" if ts.microsecond else f"{text}Z"


def encode_cursor(ts: datetime, variable: str) -> str:
    return base64.urlsafe_b64encode(f"{iso_z(ts)}|{variable}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The (ts, variable) a cursor of :func:`encode_cursor` holds; :class:`CursorError` for any other text."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        ts_text, variable = text.split("|", 1)
        ts = datetime.fromisoformat(ts_text)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise CursorError(BAD_CURSOR.format(cursor=cursor)) from None
    if ts.utcoffset() != timedelta(0):  # the cursors handed out are in UTC (iso_z)
        raise CursorError(BAD_CURSOR.format(cursor=cursor))
    return ts.astimezone(UTC), variable


def _where(selection: ReadingFilter) -> tuple[str, dict[str, Any]]:
    clauses = ["point_id = :p", "ts >= :start", "ts < :end"]
    params: dict[str, Any] = {"p": selection.point_id, "start": selection.start, "end": selection.end}
    if selection.variable is not None:
        clauses.append("variable = :variable")
        params["variable"] = selection.variable
    return " AND ".join(clauses), params


def _after(cursor: tuple[datetime, str] | None, params: dict[str, Any]) -> str:
    """The keyset condition: rows after ``cursor`` in (ts, variable) order. Written as a row
    comparison, which both databases turn into a start point in the primary key index."""
    if cursor is None:
        return ""
    params["after_ts"], params["after_variable"] = cursor
    return " AND (ts, variable) > (:after_ts, :after_variable)"


def page_statement(
    dialect: str, selection: ReadingFilter, after: tuple[datetime, str] | None, size: int
) -> tuple[str, dict[str, Any]]:
    """The one statement (and its parameters) of the ``size`` readings of ``selection`` after
    ``after`` (from the start without one), from ``readings`` and the compacted hours
    (:func:`central.telemetry.stored.keyset_page`)."""
    where, params = _where(selection)
    keyset = _after(after, params)
    first = selection.start if after is None else max(selection.start, after[0])
    params.update({"page_limit": size, "first_hour": stored.hour_floor(first)})
    return stored.keyset_page(dialect, READING_COLUMNS, where, keyset), params


class ReadingItem(msgspec.Struct, gc=False):
    """A reading as a page writes it: ``ReadingOut``'s fields in its order (those of
    :data:`READING_COLUMNS`), ``flags`` a list. Made straight from a row tuple and encoded by
    msgspec without a dict per row: a page is 1,000 of them."""

    ts: datetime
    variable: str
    value: float | None
    raw_value: float | None
    unit: str
    quality: str
    flags: list[str]


class ReadingsSlice(NamedTuple):
    """One page of readings: its rows, the cursor of the next page (None at the end) and,
    when asked for, how many rows the whole selection has (None when not asked)."""

    items: list[ReadingItem]
    next_cursor: str | None
    total: int | None


def readings_page(
    conn: Connection, selection: ReadingFilter, limit: int, cursor: str | None, count: bool = False
) -> ReadingsSlice:
    """The ``limit`` readings after ``cursor`` (from the start without one). One row more is
    read to know whether a next page exists, so the last page has no cursor."""
    total = count_readings(conn, selection) if count else None
    position = None if cursor is None else decode_cursor(cursor)
    sql, params = page_statement(conn.dialect, selection, position, limit + 1)
    rows = conn.fetchrows(sql, params)
    items = [
        ReadingItem(ts, variable, value, raw_value, unit, quality, flags.split(",") if flags else [])
        for ts, variable, value, raw_value, unit, quality, flags in rows[:limit]
    ]
    next_cursor = encode_cursor(items[-1].ts, items[-1].variable) if len(rows) > limit else None
    return ReadingsSlice(items, next_cursor, total)


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return iso_z(value)
    return str(value)


def readings_csv(db: Database, selection: ReadingFilter, limit: int | None, dialect: Dialect = "csv") -> Iterator[str]:
    """The whole selection as CSV text chunks in ``dialect`` (header first), read in keyset pages."""
    yield preamble(dialect) + more_rows([CSV_HEADER], dialect)
    for rows in reading_chunks(db, selection, limit):
        yield more_rows([[_csv_value(row[column]) for column in CSV_HEADER] for row in rows], dialect)


def reading_chunks(db: Database, selection: ReadingFilter, limit: int | None) -> Iterator[list[dict[str, Any]]]:
    """The whole selection (at most ``limit`` rows) in keyset pages of :data:`CSV_CHUNK`
    rows, each page its own short read."""
    cursor, left = None, limit
    while left is None or left > 0:
        size = CSV_CHUNK if left is None else min(CSV_CHUNK, left)
        with db.connect() as conn:
            rows = conn.fetchall(*page_statement(conn.dialect, selection, cursor, size))
        yield rows
        if len(rows) < size:
            return
        cursor = (rows[-1]["ts"], rows[-1]["variable"])
        left = None if left is None else left - len(rows)


def count_readings(conn: Connection, selection: ReadingFilter) -> int:
    where, params = _where(selection)
    table, more = stored.source(conn, ":p", selection.start, ":end")
    return int(conn.fetchval(f"SELECT COUNT(*) AS n FROM {table} WHERE {where}", {**params, **more}))


def latest(conn: Connection, user: User, now: datetime, paging: PageQuery) -> Page[dict[str, Any]]:
    """A page of the visible points, by code, each with the newest reading of each of its variables."""
    page = lookups.visible_points_page(conn, user, paging)
    points = {row["id"]: {"point": row["code"], "name": row["name"], "variables": {}} for row in page.items}
    names = {f"p{i}": point_id for i, point_id in enumerate(points)}
    rows = (
        conn.fetchall(
            "SELECT point_id, variable, ts, value, unit, quality, flags FROM latest_readings"
            f" WHERE point_id IN ({', '.join(':' + n for n in names)}) ORDER BY variable",
            names,
        )
        if names
        else []
    )
    for row in rows:
        points[row["point_id"]]["variables"][row["variable"]] = {
            "ts": row["ts"],
            "value": row["value"],
            "unit": row["unit"],
            "quality": row["quality"],
            "flags": row["flags"].split(",") if row["flags"] else [],
            "age_s": round((now - row["ts"]).total_seconds(), 3),
        }
    return Page(items=list(points.values()), total=page.total, limit=page.limit, offset=page.offset)


def record_meter_change(
    conn: Connection, point: dict[str, Any], change: dict[str, Any], actor: str, now: datetime
) -> dict[str, Any]:
    """Store a swap and its audit row in the caller's transaction; returns the stored row."""
    conn.execute(
        "INSERT INTO meter_changes (point_id, ts, old_final_m3, new_base_m3, note, recorded_by, recorded_at)"
        " VALUES (:p, :ts, :old_final_m3, :new_base_m3, :note, :actor, :now)",
        {"p": point["id"], **change, "actor": actor, "now": now},
    )
    row = conn.fetchone(
        f"SELECT {METER_CHANGE_COLUMNS} FROM meter_changes WHERE point_id = :p AND ts = :ts",
        {"p": point["id"], "ts": change["ts"]},
    )
    audit.record(conn, actor, "meter_change.recorded", f"point:{point['code']}", now, **change)
    return row


METER_CHANGE_COLUMNS = "id, ts, old_final_m3, new_base_m3, note, recorded_by, recorded_at"


def meter_changes(conn: Connection, point_id: int, paging: PageQuery) -> Page[dict[str, Any]]:
    return fetch_page(
        conn,
        f"SELECT {METER_CHANGE_COLUMNS} FROM meter_changes WHERE point_id = :p ORDER BY ts",
        {"p": point_id},
        paging,
        dict,
    )
