"""Hourly summaries (``readings_hourly``): kept by a background worker, read by long aggregates.

Ingest only marks the hours its batch touched as stale (:func:`stale_hours`, :func:`mark`:
a row in ``rollup_pending`` per run of consecutive hours of a point), which costs little
in its transaction. The summaries are recomputed from the stored readings (so a resent or late
reading changes nothing twice) by the rollup worker (:func:`catch_up`, every
``CAUDAL_ROLLUP_INTERVAL_S``, 1 s) and, before it reads them, by an aggregate whose answer
they change (:func:`catch_up_point`), so an answer right after an ingest is exact.

Marks are never upserted: each has its own id and a refresher deletes exactly the ids it
read. A mark written by an ingest that commits while a refresh runs has a new id and stays
for the next pass; updating a shared "stale since" row instead would let the refresher's
delete swallow the newer ingest (a lost update). On PostgreSQL the refreshers of one point
also take turns (a transaction-scoped advisory lock per point, taken after the marks): each
refresh reads the readings after the previous refresh of that point committed, so an older
snapshot never overwrites a newer summary.

Aggregates whose buckets are whole UTC hours — hour buckets, and day/month buckets of a
zone whose offsets are whole hours, like America/Santiago — with an expected interval of
whole minutes dividing the hour read these rows: the same numbers as from the readings
(``tests/central/test_telemetry_rollup.py`` compares both), ~60x fewer rows. Anything else
reads the readings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from operator import itemgetter
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from central.db import Connection
from central.telemetry import stored
from central.telemetry.buckets import Bucket, Span, offset_segments
from central.telemetry.processing import Processed

HOUR = timedelta(hours=1)
_POINT_TS = itemgetter(0, 1)  # a Processed's (point_id, ts)
_LOCK_SPACE = 7_406_113  # first key of the per-point advisory locks of refreshers
# A reading's hour and minute (UTC). PostgreSQL: date_bin from a UTC origin and date_part (a
# double) cost the refresh 0.88 of date_trunc and extract (a numeric) over the same rows
# (benchmarks/RESULTS.md, "Figures cited by the code").
_EXPRESSIONS = {
    "postgresql": (
        "date_bin(CAST('1 hour' AS INTERVAL), ts, CAST('2000-01-01 00:00:00+00' AS TIMESTAMPTZ))",
        "CAST(date_part('minute', ts) AS INTEGER)",
    ),
    "sqlite": ("substr(ts, 1, 13) || ':00:00.000000+00:00'", "CAST(substr(ts, 15, 2) AS INTEGER)"),
}
_MASK = {"postgresql": "bit_or({})", "sqlite": "SUM(DISTINCT {})"}
_SUMMARY_COLUMNS = (
    "flow_min",
    "flow_max",
    "flow_sum",
    "flow_count",
    "level_min",
    "level_max",
    "water_table_min",
    "water_table_max",
    "readings",
    "minutes_mask",
    "total_count",
    "total_first",
    "total_last",
    "volume_inner",
)


_RUNS = (
    "unnest(CAST(:points AS BIGINT[]), CAST(:lows AS TIMESTAMPTZ[]), CAST(:highs AS TIMESTAMPTZ[])) AS q (p, lo, hi)"
)


def _refresh_sql(dialect: str, rows: str) -> str:
    """The summaries of the hours that ``rows`` (a FROM clause giving ``readings`` rows, each
    point's within its runs of whole hours) fall in, upserted.

    The totalizer's readings are ordered once per point (``w``): an hour's first and last
    count are those whose neighbour lies in another hour, and only steps inside an hour add to
    its volume. The minute mask is an OR of bits (``bit_or``, which PostgreSQL aggregates
    without sorting; SQLite has none, and a SUM of the distinct bits is the same number)."""
    hour, minute = _EXPRESSIONS[dialect]
    value_of = "CASE WHEN variable = '{0}' THEN value END"
    assignments = ", ".join(f"{column} = excluded.{column}" for column in _SUMMARY_COLUMNS)
    return f"""
WITH r AS (SELECT readings.point_id, ts, variable, value, {hour} AS hour, {minute} AS minute FROM {rows}),
t AS (SELECT point_id, hour, value, LAG(value) OVER w AS prev, LAG(hour) OVER w AS prev_hour,
             LEAD(hour) OVER w AS next_hour
      FROM r WHERE variable = 'totalizer' AND value IS NOT NULL WINDOW w AS (PARTITION BY point_id ORDER BY ts)),
v AS (SELECT point_id, hour, COUNT(*) AS total_count,
             SUM(CASE WHEN prev_hour = hour AND value > prev THEN value - prev ELSE 0 END) AS volume_inner,
             MAX(CASE WHEN prev_hour IS NULL OR prev_hour <> hour THEN value END) AS total_first,
             MAX(CASE WHEN next_hour IS NULL OR next_hour <> hour THEN value END) AS total_last
      FROM t GROUP BY point_id, hour),
s AS (SELECT point_id, hour, MIN({value_of.format("flow")}) AS flow_min, MAX({value_of.format("flow")}) AS flow_max,
             SUM({value_of.format("flow")}) AS flow_sum, COUNT({value_of.format("flow")}) AS flow_count,
             MIN({value_of.format("level")}) AS level_min, MAX({value_of.format("level")}) AS level_max,
             MIN({value_of.format("water_table")}) AS water_table_min,
             MAX({value_of.format("water_table")}) AS water_table_max, COUNT(*) AS readings,
             {_MASK[dialect].format("CASE WHEN value IS NOT NULL THEN CAST(1 AS BIGINT) << minute END")} AS minutes_mask
      FROM r GROUP BY point_id, hour)
INSERT INTO readings_hourly (point_id, hour, {", ".join(_SUMMARY_COLUMNS)})
SELECT s.point_id, s.hour, s.flow_min, s.flow_max, s.flow_sum, s.flow_count, s.level_min, s.level_max, s.water_table_min,
       s.water_table_max, s.readings, COALESCE(s.minutes_mask, 0), COALESCE(v.total_count, 0), v.total_first,
       v.total_last, v.volume_inner
FROM s LEFT JOIN v ON v.point_id = s.point_id AND v.hour = s.hour WHERE true
ON CONFLICT (point_id, hour) DO UPDATE SET {assignments}"""


def hour_runs(hours: Iterable[datetime]) -> list[tuple[datetime, datetime]]:
    """Sorted hour starts grouped into [first, end) runs of consecutive hours."""
    return merged_runs((hour, hour + HOUR) for hour in hours)


def merged_runs(ranges: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """[low, high) ranges joined where they overlap or touch, in order: one refresh per run."""
    runs: list[tuple[datetime, datetime]] = []
    for low, high in sorted(ranges):
        if runs and low <= runs[-1][1]:
            runs[-1] = (runs[-1][0], max(runs[-1][1], high))
        else:
            runs.append((low, high))
    return runs


class Mark(NamedTuple):
    """A run [lo, hi) of a point's hours whose summaries are stale."""

    id: int
    point_id: int
    lo: datetime
    hi: datetime


class StaleHours(NamedTuple):
    """A run [lo, hi) of consecutive hours of a point that readings fell in."""

    point_id: int
    lo: datetime
    hi: datetime


def stale_hours(readings: Iterable[Processed]) -> list[StaleHours]:
    """The hours these readings fall in, one run of consecutive hours per row, by point."""
    hours = _hour_starts(readings)
    return [StaleHours(point_id, low, high) for point_id in sorted(hours) for low, high in hour_runs(hours[point_id])]


def mark(conn: Connection, stale: Iterable[StaleHours]) -> None:
    """Mark these hours' summaries as stale: what ingest does instead of recomputing them in
    its transaction."""
    conn.executemany(
        "INSERT INTO rollup_pending (point_id, lo, hi) VALUES (:point_id, :lo, :hi)", [run._asdict() for run in stale]
    )


def _hour_starts(readings: Iterable[Processed]) -> dict[int, set[datetime]]:
    """Each point's hour starts. A datetime is built per distinct hour, not per reading:
    ``replace`` on each reading was most of the cost (benchmarks/RESULTS.md, "Figures cited
    by the code")."""
    stamps = set(map(_POINT_TS, readings))
    hours = {(point_id, ts.year, ts.month, ts.day, ts.hour, ts.tzinfo) for point_id, ts in stamps}
    starts: dict[int, set[datetime]] = {}
    for point_id, year, month, day, hour, tz in hours:
        starts.setdefault(point_id, set()).add(datetime(year, month, day, hour, tzinfo=tz))
    return starts


def pending(conn: Connection, limit: int) -> list[Mark]:
    """The ``limit`` oldest marks; on PostgreSQL locked, skipping those another refresher
    holds, so worker replicas take different marks."""
    lock = " FOR UPDATE SKIP LOCKED" if conn.dialect == "postgresql" else ""
    rows = conn.fetchall(
        f"SELECT id, point_id, lo, hi FROM rollup_pending ORDER BY id LIMIT :limit{lock}", {"limit": limit}
    )
    return [Mark(**row) for row in rows]


def stale_marks(conn: Connection, point_id: int, start: datetime, end: datetime) -> list[Mark]:
    """The point's marks that can change an answer over [start, end): those overlapping it,
    and earlier ones from the hour of the last summarized count before ``start`` on (that
    count is where the range's volume starts, see :func:`last_count_before`). Locked on
    PostgreSQL, waiting for a refresher holding them (after which they are gone)."""
    lock = " FOR UPDATE" if conn.dialect == "postgresql" else ""
    rows = conn.fetchall(
        "SELECT id, point_id, lo, hi FROM rollup_pending WHERE point_id = :p AND lo < :end"
        " AND hi > COALESCE((SELECT MAX(hour) FROM readings_hourly WHERE point_id = :p AND hour < :start"
        f" AND total_last IS NOT NULL), lo) ORDER BY id{lock}",
        {"p": point_id, "start": start, "end": end},
    )
    return [Mark(**row) for row in rows]


def settle(conn: Connection, marks: Sequence[Mark]) -> None:
    """Refresh the hours of ``marks`` (points by ascending id, hours ascending), record them as
    changed (:func:`take_changed`), then delete exactly those marks: any mark written
    meanwhile has another id and stays. No marks, no statement: an aggregate calls this on every request."""
    if not marks:
        return
    by_point: dict[int, list[tuple[datetime, datetime]]] = {}
    for stale in marks:
        by_point.setdefault(stale.point_id, []).append((stale.lo, stale.hi))
    point_ids = sorted(by_point)
    runs = [StaleHours(point_id, *run) for point_id in point_ids for run in merged_runs(by_point[point_id])]
    _take_turns(conn, point_ids)
    refresh_ranges(conn, runs)
    _record_changed(conn, runs)
    _remove(conn, marks)


def _record_changed(conn: Connection, runs: Sequence[StaleHours]) -> None:
    """PostgreSQL: the runs as one INSERT of arrays (a worker batch is a hundred points; a
    statement each was a third of the pass's CPU in the worker). SQLite runs in-process."""
    if conn.dialect == "postgresql":
        conn.execute(f"INSERT INTO hours_changed (point_id, lo, hi) SELECT p, lo, hi FROM {_RUNS}", _run_arrays(runs))
        return
    conn.executemany(
        "INSERT INTO hours_changed (point_id, lo, hi) VALUES (:point_id, :lo, :hi)", [run._asdict() for run in runs]
    )


def _remove(conn: Connection, marks: Sequence[Mark]) -> None:
    """Delete exactly these marks (by id: one written meanwhile stays)."""
    if conn.dialect == "postgresql":
        conn.execute("DELETE FROM rollup_pending WHERE id = ANY(:ids)", {"ids": [stale.id for stale in marks]})
        return
    conn.executemany("DELETE FROM rollup_pending WHERE id = :id", [{"id": stale.id} for stale in marks])


def _run_arrays(runs: Sequence[StaleHours]) -> dict[str, list[Any]]:
    """The parameters of :data:`_RUNS` (``runs`` is never empty: its callers return first)."""
    points, lows, highs = zip(*runs, strict=True)
    return {"points": list(points), "lows": list(lows), "highs": list(highs)}


def take_changed(conn: Connection, limit: int) -> list[StaleHours]:
    """Up to ``limit`` of the oldest runs of hours whose readings changed, removed from
    ``hours_changed`` in the caller's transaction (a rollback keeps them for the next taker;
    on PostgreSQL another taker skips them meanwhile). For other domains: the hours where
    readings arrived, late ones included, without polling the readings."""
    lock = " FOR UPDATE SKIP LOCKED" if conn.dialect == "postgresql" else ""
    rows = conn.fetchall(
        f"SELECT id, point_id, lo, hi FROM hours_changed ORDER BY id LIMIT :limit{lock}", {"limit": limit}
    )
    conn.executemany("DELETE FROM hours_changed WHERE id = :id", [{"id": row["id"]} for row in rows])
    return [StaleHours(row["point_id"], row["lo"], row["hi"]) for row in rows]


def _take_turns(conn: Connection, point_ids: Sequence[int]) -> None:
    """Wait for any other refresher of these points to commit (PostgreSQL; SQLite runs one
    writing transaction at a time). Taken after the marks and in ascending point order (the
    sorted subquery is not flattened, so its rows reach the locks in order), so refreshers
    cannot wait on each other in a circle; in one statement, not one per point."""
    if conn.dialect == "postgresql" and point_ids:
        conn.execute(
            "SELECT pg_advisory_xact_lock(CAST(:space AS INTEGER), CAST(MOD(p, 2147483647) AS INTEGER))"
            " FROM (SELECT p FROM unnest(CAST(:points AS BIGINT[])) AS p ORDER BY p) AS ascending",
            {"space": _LOCK_SPACE, "points": list(point_ids)},
        )


def catch_up(conn: Connection, limit: int) -> int:
    """One batch of the worker: refresh the hours of up to ``limit`` oldest marks and remove
    them; returns how many marks it handled (``limit`` means there may be more)."""
    marks = pending(conn, limit)
    settle(conn, marks)
    return len(marks)


def catch_up_point(conn: Connection, point_id: int, start: datetime, end: datetime) -> None:
    """Refresh what an aggregate of the point over [start, end) reads, if marked stale."""
    settle(conn, stale_marks(conn, point_id, start, end))


def refresh_range(conn: Connection, point_id: int, low: datetime, high: datetime) -> None:
    """Recompute the summaries of the point's hours in [low, high) (hour-aligned)."""
    refresh_ranges(conn, [StaleHours(point_id, low, high)])


def refresh_ranges(conn: Connection, runs: Sequence[StaleHours]) -> None:
    """Recompute the summaries of these runs of hours (hour-aligned; a point's runs disjoint),
    from the readings and, for a late reading of a compacted hour, the compacted rows.

    PostgreSQL refreshes every run in one statement: a worker batch of a fleet's marks is a
    hundred points, and a statement per point was most of the rollup's cost in the server
    (benchmarks/RESULTS.md, "Figures cited by the code"). Each run is read by its own index
    scan (``OFFSET 0`` keeps the planner from flattening the subquery into a join: it cannot
    estimate the runs' bounds and then scanned all of ``readings``, every partition, on every
    pass). SQLite, one table, one per run."""
    if not runs:
        return
    if conn.dialect != "postgresql":
        sql = _refresh_sql("sqlite", "readings WHERE point_id = :p AND ts >= :lo AND ts < :hi")
        for run in runs:
            conn.execute(sql, {"p": run.point_id, "lo": run.lo, "hi": run.hi})
        return
    table, params = stored.source(conn, "q.p", min(run.lo for run in runs), "q.hi", low="q.lo")
    rows = (
        f"{_RUNS} CROSS JOIN LATERAL"
        f" (SELECT * FROM {table} WHERE point_id = q.p AND ts >= q.lo AND ts < q.hi OFFSET 0) readings"
    )
    conn.execute(_refresh_sql("postgresql", rows), {**params, **_run_arrays(runs)})


def usable(bucket: Bucket, tz: ZoneInfo, start: datetime, end: datetime, interval_s: int) -> bool:
    """Whether hourly summaries give exact answers for this request."""
    if interval_s % 60 or 3600 % interval_s:
        return False
    return bucket == "hour" or all(minutes % 60 == 0 for _, minutes in offset_segments(start, end, tz))


def covered_slots(minutes_mask: int, interval_s: int) -> int:
    """Slots of ``interval_s`` in the hour with at least one minute that has a value."""
    width = interval_s // 60
    if width == 1:  # the usual one-minute interval: a slot per minute
        return minutes_mask.bit_count()
    folded = 0
    for shift in range(width):  # bit k*width is set when any minute of slot k has a value
        folded |= minutes_mask >> shift
    return (folded & _slot_starts(width)).bit_count()


@lru_cache(maxsize=64)
def _slot_starts(width: int) -> int:
    return sum(1 << (slot * width) for slot in range(60 // width))


def hourly_rows(conn: Connection, point_id: int, start: datetime, end: datetime) -> list[dict[str, Any]]:
    return conn.fetchall(
        f"SELECT hour, {', '.join(_SUMMARY_COLUMNS)} FROM readings_hourly"
        " WHERE point_id = :p AND hour >= :start AND hour < :end ORDER BY hour",
        {"p": point_id, "start": start, "end": end},
    )


def last_count_before(conn: Connection, point_id: int, start: datetime) -> float | None:
    return conn.fetchval(
        "SELECT total_last FROM readings_hourly WHERE point_id = :p AND hour < :start AND total_last IS NOT NULL"
        " ORDER BY hour DESC LIMIT 1",
        {"p": point_id, "start": start},
    )


_EXTREMES = (
    ("flow_min", min),
    ("flow_max", max),
    ("level_min", min),
    ("level_max", max),
    ("water_table_min", min),
    ("water_table_max", max),
)


def _merge(target: dict[str, Any], hour: dict[str, Any], covered: int) -> None:
    for name, pick in _EXTREMES:
        if hour[name] is not None:
            target[name] = hour[name] if target[name] is None else pick(target[name], hour[name])
    for name in ("flow_sum", "flow_count", "readings"):
        target[name] = (target[name] or 0) + (hour[name] or 0)
    target["covered"] += covered


def combine(
    spans: list[Span], hours: list[dict[str, Any]], previous_count: float | None, interval_s: int
) -> tuple[dict[str, dict[str, Any]], dict[str, float]]:
    """Hourly rows -> (statistics, volume) per bucket key, as ``central.telemetry.aggregates``
    computes them from readings (swap corrections excepted; they are added by the caller).
    A bucket's first hour row becomes its running figures and the next ones are merged into
    it, so ``hours`` is changed: hour buckets (a year is 8,760) copy and merge nothing."""
    stats: dict[str, dict[str, Any]] = {}
    volume: dict[str, float] = {}
    index = 0
    for hour in hours:
        while spans[index].end <= hour["hour"]:
            index += 1
        key = spans[index].key
        covered = covered_slots(int(hour["minutes_mask"]), interval_s)
        if key in stats:
            _merge(stats[key], hour, covered)
        else:
            hour["covered"] = covered
            stats[key] = hour
        if hour["total_count"]:
            has_pair = previous_count is not None or hour["total_count"] > 1
            across = max(0.0, hour["total_first"] - previous_count) if previous_count is not None else 0.0
            if has_pair:
                volume[key] = volume.get(key, 0.0) + across + (hour["volume_inner"] or 0.0)
            previous_count = hour["total_last"]
    return {key: _named(row) for key, row in stats.items()}, volume


def _named(row: dict[str, Any]) -> dict[str, Any]:
    """The column names of ``central.telemetry.aggregates.statistics``."""
    return {
        "flow_min_lps": row.get("flow_min"),
        "flow_max_lps": row.get("flow_max"),
        "flow_avg_lps": row["flow_sum"] / row["flow_count"] if row["flow_count"] else None,
        "level_min_m": row.get("level_min"),
        "level_max_m": row.get("level_max"),
        "water_table_min_m": row.get("water_table_min"),
        "water_table_max_m": row.get("water_table_max"),
        "readings": row["readings"],
        "covered": row["covered"],
    }
