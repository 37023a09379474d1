"""Per-bucket summaries of one point: flow, extracted volume, level, water table, coverage.

Choices (documented in the API too):

- buckets: UTC hours; days and months of ``tz`` (default America/Santiago); a range is
  widened to whole buckets;
- volume: the sum of totalizer increases between consecutive readings, credited to the
  bucket of the later reading (the first reading of a range pairs with the last one before
  it). A decrease is a reset: it adds nothing (never negative volume) and the count
  continues from the lower value — so a reset to zero loses at most what the meter counted
  before its first reading after the reset, while the small decreases of "net" totalizers
  never inflate the volume. A recorded meter swap replaces that rule for the pair of
  readings around it (:func:`central.telemetry.processing.volume_between`). ``null`` when
  the bucket has no pair of totalizer readings;
- coverage: time is cut into slots of ``interval_s`` (the expected reading interval,
  default 60 s); ``missing_minutes`` is the slots of the bucket's past without any reading
  that has a value, in minutes; ``readings`` counts every stored row (all variables,
  value-less gap records and derived water-table rows included).

Where the buckets are whole UTC hours, the numbers come from the hourly summaries
(``central.telemetry.rollup``; hours that ingest marked stale are refreshed first);
otherwise from the readings, in SQL (one grouped scan and one window scan). Either way the
handful of meter swaps are corrected in Python.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from central.db import Connection, Database
from central.telemetry import rollup, stored
from central.telemetry.buckets import KEY_LENGTH, Bucket, Span, bucket_start, key_of, offset_segments
from central.telemetry.processing import MeterChange, volume_between

STATISTICS = (
    ("flow", "MIN", "flow_min_lps"),
    ("flow", "MAX", "flow_max_lps"),
    ("flow", "AVG", "flow_avg_lps"),
    ("level", "MIN", "level_min_m"),
    ("level", "MAX", "level_max_m"),
    ("water_table", "MIN", "water_table_min_m"),
    ("water_table", "MAX", "water_table_max_m"),
)


def key_sql(dialect: str, bucket: Bucket, tz: ZoneInfo, start: datetime, end: datetime, params: dict[str, Any]) -> str:
    """SQL text of the bucket key of ``ts`` (see ``central.telemetry.buckets``)."""
    length = KEY_LENGTH[bucket]
    if dialect == "postgresql":
        if bucket == "hour":
            return "to_char(ts, 'YYYY-MM-DD\"T\"HH24')"
        params["tz"] = tz.key
        return f"to_char(ts AT TIME ZONE :tz, '{'YYYY-MM-DD' if bucket == 'day' else 'YYYY-MM'}')"
    if bucket == "hour":
        return f"substr(ts, 1, {length})"
    return f"substr(datetime(ts, {_sqlite_offset(tz, start, end, params)}), 1, {length})"


def _sqlite_offset(tz: ZoneInfo, start: datetime, end: datetime, params: dict[str, Any]) -> str:
    segments = offset_segments(start, end, tz)
    if len(segments) == 1:
        return f"'{segments[0][1]} minutes'"
    cases = []
    for index, (until, minutes) in enumerate(segments[:-1]):
        params[f"until{index}"] = until
        cases.append(f"WHEN ts < :until{index} THEN '{minutes} minutes'")
    return f"CASE {' '.join(cases)} ELSE '{segments[-1][1]} minutes' END"


def slot_sql(dialect: str) -> str:
    if dialect == "postgresql":
        return "CAST(extract(epoch FROM ts) AS BIGINT) / :interval"
    return "CAST(strftime('%s', ts) AS INTEGER) / :interval"


def statistics(
    conn: Connection, point_id: int, bucket: Bucket, tz: ZoneInfo, start: datetime, end: datetime, interval_s: int
) -> dict[str, dict[str, Any]]:
    """Bucket key -> flow/level/water-table statistics, row count and covered slots."""
    table, params = stored.source(conn, ":p", start, ":end")
    params.update({"p": point_id, "start": start, "end": end, "interval": interval_s})
    key = key_sql(conn.dialect, bucket, tz, start, end, params)
    columns = ", ".join(
        f"{function}(CASE WHEN variable = '{variable}' THEN value END) AS {name}"
        for variable, function, name in STATISTICS
    )
    rows = conn.fetchall(
        f"SELECT {key} AS bucket, {columns}, COUNT(*) AS readings,"
        f" COUNT(DISTINCT CASE WHEN value IS NOT NULL THEN {slot_sql(conn.dialect)} END) AS covered"
        f" FROM {table} WHERE point_id = :p AND ts >= :start AND ts < :end GROUP BY 1",
        params,
    )
    return {row.pop("bucket"): row for row in rows}


def _anchor(conn: Connection, point_id: int, start: datetime) -> datetime:
    """Where the totalizer series starts: its last reading before ``start``, else ``start``."""
    last = stored.last_before(conn, point_id, "totalizer", start, columns="ts")
    return start if last is None else last["ts"]


def summary(
    db: Database, point_id: int, bucket: Bucket, tz: ZoneInfo, spans: list[Span], interval_s: int, now: datetime
) -> list[dict[str, Any]]:
    """One row per bucket of ``spans`` (consecutive, as :func:`central.telemetry.buckets.spans` gives).
    Takes the database, not a connection: stale hourly summaries are refreshed (and
    committed) before the reading, which runs on a connection of its own."""
    start, end = spans[0].start, spans[-1].end
    hourly = rollup.usable(bucket, tz, start, end, interval_s)
    if hourly:
        _catch_up(db, point_id, start, end)
    with db.connect() as conn:
        anchor = _anchor(conn, point_id, start)
        if hourly:
            hours = rollup.hourly_rows(conn, point_id, start, end)
            stats, volume = rollup.combine(spans, hours, rollup.last_count_before(conn, point_id, start), interval_s)
        else:
            stats = statistics(conn, point_id, bucket, tz, start, end, interval_s)
            volume = volumes(conn, point_id, bucket, tz, start, end, anchor)
        add_swap_corrections(conn, volume, point_id, bucket, tz, start, end, anchor)
    return summarize(spans, stats, volume, now, interval_s)


def _catch_up(db: Database, point_id: int, start: datetime, end: datetime) -> None:
    """Refresh the hourly summaries the answer reads that ingest marked stale and the worker
    has not refreshed yet, so the answer is exact. In its own short write transaction, opened
    only when there is something to do: on SQLite it would wait for any ingest in progress."""
    with db.connect() as conn:
        if not rollup.stale_marks(conn, point_id, start, end):
            return
    with db.transaction() as conn:
        rollup.catch_up_point(conn, point_id, start, end)


def add_swap_corrections(
    conn: Connection,
    volume: dict[str, float],
    point_id: int,
    bucket: Bucket,
    tz: ZoneInfo,
    start: datetime,
    end: datetime,
    anchor: datetime,
) -> None:
    for cur_ts, correction in swap_corrections(conn, point_id, anchor, end):
        if cur_ts >= start:
            key = key_of(bucket_start(cur_ts, bucket, tz), bucket, tz)
            volume[key] = volume.get(key, 0.0) + correction


def volumes(
    conn: Connection, point_id: int, bucket: Bucket, tz: ZoneInfo, start: datetime, end: datetime, anchor: datetime
) -> dict[str, float]:
    """Bucket key -> extracted m3 from the readings (before swap corrections)."""
    table, params = stored.source(conn, ":p", anchor, ":end")
    params.update({"p": point_id, "start": start, "end": end, "anchor": anchor})
    key = key_sql(conn.dialect, bucket, tz, start, end, params)
    rows = conn.fetchall(
        f"SELECT {key} AS bucket, SUM(CASE WHEN value > prev THEN value - prev ELSE 0 END) AS volume"
        f" FROM (SELECT ts, value, LAG(value) OVER (ORDER BY ts) AS prev FROM {table}"
        "       WHERE point_id = :p AND ts >= :anchor AND ts < :end AND variable = 'totalizer'"
        "       AND value IS NOT NULL) pairs"
        " WHERE ts >= :start AND prev IS NOT NULL GROUP BY 1",
        params,
    )
    return {row["bucket"]: float(row["volume"]) for row in rows}


def swap_corrections(conn: Connection, point_id: int, anchor: datetime, end: datetime) -> list[tuple[datetime, float]]:
    """(ts of the reading after a swap, volume to add) for each pair of readings around swaps."""
    changes = conn.fetchall(
        "SELECT ts, old_final_m3, new_base_m3 FROM meter_changes WHERE point_id = :p AND ts > :anchor AND ts < :end"
        " ORDER BY ts",
        {"p": point_id, "anchor": anchor, "end": end},
    )
    pairs: dict[tuple[Any, ...], list[MeterChange]] = defaultdict(list)
    for change in changes:
        around = _around(conn, point_id, change["ts"], anchor, end)
        if around is not None:
            pairs[around].append(MeterChange(**change))
    out = []
    for (prev_value, cur_ts, cur_value), swaps in pairs.items():
        out.append((cur_ts, volume_between(prev_value, cur_value, swaps) - max(0.0, cur_value - prev_value)))
    return out


def _around(conn: Connection, point_id: int, ts: datetime, anchor: datetime, end: datetime) -> tuple | None:
    """(previous value, next ts, next value) of the totalizer around ``ts``, within the range."""
    table, params = stored.source(conn, ":p", anchor, ":end")
    base = (
        f"SELECT ts, value FROM {table} WHERE point_id = :p AND variable = 'totalizer' AND value IS NOT NULL"
        " AND {condition} ORDER BY ts {order} LIMIT 1"
    )
    params.update({"p": point_id, "ts": ts, "anchor": anchor, "end": end})
    before = conn.fetchone(base.format(condition="ts >= :anchor AND ts < :ts", order="DESC"), params)
    after = conn.fetchone(base.format(condition="ts >= :ts AND ts < :end", order="ASC"), params)
    if before is None or after is None:
        return None
    return before["value"], after["ts"], after["value"]


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


_NAMES = tuple(name for _, _, name in STATISTICS)
_NOTHING: dict[str, Any] = {}


def summarize(
    spans: list[Span], stats: dict[str, dict[str, Any]], volume: dict[str, float], now: datetime, interval_s: int
) -> list[dict[str, Any]]:
    """One output row per bucket, empty buckets included (their past is all missing). A year
    of hours is 8,760 rows: the loop is kept lean (``benchmarks/bench_history.py``)."""
    items = []
    for key, start, end in spans:
        row = stats.get(key, _NOTHING)
        elapsed = max(0.0, ((end if end <= now else now) - start).total_seconds())
        missing = max(0, math.ceil(elapsed / interval_s) - int(row.get("covered") or 0)) * interval_s / 60
        item = {"start": start, "end": end}
        for name in _NAMES:
            value = row.get(name)
            item[name] = None if value is None else round(float(value), 6)
        found = volume.get(key)
        item["volume_m3"] = None if found is None else round(float(found), 6)
        item["readings"] = int(row.get("readings") or 0)
        item["missing_minutes"] = round(missing, 6)
        items.append(item)
    return items
