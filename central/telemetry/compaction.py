"""Compaction of old readings on PostgreSQL: whole hours older than ``CAUDAL_COMPACT_AFTER_DAYS``
move from ``readings`` (~150 bytes a reading with its index) into ``readings_compact`` (one
row per point, hour and variable with arrays, ~20 bytes a reading; migration 0160).

The rollup worker runs a pass after refreshing the hourly summaries, so an hour's summary is
computed before its readings move (and a late refresh reads both tables, :mod:`.stored`).
A pass plans batches (:func:`plan`: spans of hours from where the last pass stopped, each
split into chunks of points) and moves each batch in its own transaction (:func:`move`):
the batch's readings are deleted and inserted as compacted rows by one statement, so a pass
killed at any point has moved whole batches or nothing, and a pass run again moves only
what is still in ``readings``. Batches lock the one ``readings_compaction`` row, so replicas
take turns.

Deleting rows leaves a month's partition of ``readings`` as large on disk as before (VACUUM
truncates the heap once it is empty, never an index), so once compaction has passed a month's
end :func:`sweep` vacuums the partition and rebuilds its indexes (``REINDEX CONCURRENTLY``:
ingest keeps writing meanwhile), once per month.

An hour is compacted once. A reading arriving later for a point, hour and variable that is
already compacted stays in ``readings`` (rare: an upload months late); readers read both,
and a reading that is in both (a resend) is read once, from the compacted row
(:func:`central.telemetry.stored.not_compacted`).

SQLite does not compact: a single small server, no partitions; its readings stay as stored.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from itertools import islice
from typing import NamedTuple

from central.core import lookups as core_lookups
from central.db import Connection, Database
from central.telemetry import partitions
from central.telemetry.stored import hour_floor

HOUR = timedelta(hours=1)
SPAN = timedelta(hours=24)  # hours per batch
POINTS_PER_BATCH = 25  # a day of 3 variables each minute: 25 x 4,320 = 108,000 readings per transaction
BATCHES_PER_PASS = 100  # the rest waits for the next pass, so hourly summaries are not held up

_SWEEP_LOCK = 7_406_160  # one sweeper at a time across replicas
_MOVE = """
WITH moved AS (
    DELETE FROM readings r WHERE r.point_id = ANY(:points) AND r.ts >= :lo AND r.ts < :hi
    AND NOT EXISTS (SELECT 1 FROM readings_compact k WHERE k.point_id = r.point_id
                    AND k.hour = date_trunc('hour', r.ts) AND k.variable = r.variable)
    RETURNING r.point_id, r.ts, r.variable, r.value, r.raw_value, r.unit, r.quality, r.flags
), packed AS (
    INSERT INTO readings_compact (point_id, hour, variable, unit, quality, offsets_us, vals, raw_values, units,
                                  qualities, flags)
    SELECT point_id, date_trunc('hour', ts), variable,
           CASE WHEN MIN(unit) = MAX(unit) THEN MIN(unit) END, CASE WHEN MIN(quality) = MAX(quality) THEN MIN(quality) END,
           array_agg(CAST(extract(epoch FROM ts - date_trunc('hour', ts)) * 1000000 AS BIGINT) ORDER BY ts),
           array_agg(value ORDER BY ts),
           CASE WHEN COUNT(raw_value) > 0 THEN array_agg(raw_value ORDER BY ts) END,
           CASE WHEN MIN(unit) <> MAX(unit) THEN array_agg(unit ORDER BY ts) END,
           CASE WHEN MIN(quality) <> MAX(quality) THEN array_agg(quality ORDER BY ts) END,
           CASE WHEN COUNT(flags) > 0 THEN array_agg(flags ORDER BY ts) END
    FROM moved GROUP BY point_id, date_trunc('hour', ts), variable
    RETURNING 1
)
SELECT (SELECT COUNT(*) FROM moved) AS readings, (SELECT COUNT(*) FROM packed) AS rows"""


class Batch(NamedTuple):
    """The readings of ``points`` in [lo, hi), moved in one transaction. ``completes``: the
    last batch of its span, after which every hour before ``hi`` is compacted."""

    points: tuple[int, ...]
    lo: datetime
    hi: datetime
    completes: bool


class State(NamedTuple):
    done_before: datetime | None
    reach: datetime | None


def cutoff(now: datetime, age_days: int) -> datetime:
    """The end of the hours old enough to compact: whole hours that ended ``age_days`` ago."""
    return hour_floor(now - timedelta(days=age_days))


def plan(
    point_ids: Sequence[int],
    start: datetime,
    until: datetime,
    span: timedelta = SPAN,
    per_batch: int = POINTS_PER_BATCH,
) -> Iterator[Batch]:
    """The batches that compact every hour from ``start``'s to ``until``: spans oldest first,
    each split into chunks of points (pure: the pass reads the state, this decides)."""
    chunks = [tuple(point_ids[i : i + per_batch]) for i in range(0, len(point_ids), per_batch)]
    lo = hour_floor(start)
    while lo < until and chunks:
        hi = min(lo + span, until)
        for index, chunk in enumerate(chunks):
            yield Batch(chunk, lo, hi, index == len(chunks) - 1)
        lo = hi


def state(conn: Connection) -> State:
    row = conn.fetchone("SELECT done_before, reach FROM readings_compaction WHERE id = 1")
    return State(None, None) if row is None else State(row["done_before"], row["reach"])


def _first_reading(conn: Connection) -> datetime | None:
    """The oldest stored reading of any point: one index probe per point and partition."""
    return conn.fetchval(
        f"SELECT MIN(f.ts) FROM {core_lookups.point_ids_sql()} p CROSS JOIN LATERAL"
        " (SELECT ts FROM readings r WHERE r.point_id = p.id ORDER BY ts LIMIT 1) f"
    )


def _ensure_months(conn: Connection, lo: datetime, hi: datetime) -> None:
    """The monthly partitions of ``readings_compact`` that [lo, hi) writes to."""
    month = partitions.month_start(lo)
    while month < hi:
        following = partitions.next_month(month)
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {compact_partition_name(month)} PARTITION OF readings_compact"
            f" FOR VALUES FROM ('{month.isoformat()}') TO ('{following.isoformat()}')"
        )
        month = following


def compact_partition_name(month: datetime) -> str:
    return f"readings_compact_{month:%Y_%m}"


def move(conn: Connection, batch: Batch) -> int:
    """Move the batch's readings into compacted rows, in the caller's transaction (one
    statement: deleted and inserted together); returns how many readings moved. Readings of
    an hour already compacted for their point and variable stay where they are."""
    conn.fetchval("SELECT id FROM readings_compaction WHERE id = 1 FOR UPDATE")
    _ensure_months(conn, batch.lo, batch.hi)
    done = ", done_before = GREATEST(COALESCE(done_before, :hi), :hi)" if batch.completes else ""
    conn.execute(
        f"UPDATE readings_compaction SET reach = GREATEST(COALESCE(reach, :hi), :hi){done} WHERE id = 1",
        {"hi": batch.hi},
    )
    moved = conn.fetchone(_MOVE, {"points": list(batch.points), "lo": batch.lo, "hi": batch.hi})
    return int(moved["readings"]) if moved else 0


def compact(
    db: Database, now: datetime, age_days: int, batches: int = BATCHES_PER_PASS, per_batch: int = POINTS_PER_BATCH
) -> int:
    """One pass: up to ``batches`` batches from where the last pass stopped to :func:`cutoff`,
    each in its own transaction; returns how many readings moved (0 on SQLite)."""
    if db.dialect != "postgresql":
        return 0
    until = cutoff(now, age_days)
    with db.connect() as conn:
        start = state(conn).done_before or _first_reading(conn)
        if start is None or hour_floor(start) >= until:  # most passes: the next hour is not old enough yet
            return 0
        point_ids = [row["id"] for row in conn.fetchall(f"SELECT id FROM {core_lookups.point_ids_sql()} p ORDER BY id")]
    moved = 0
    for batch in islice(plan(point_ids, start, until, per_batch=per_batch), batches):
        with db.transaction() as conn:
            moved += move(conn, batch)
    return moved


def sweep(db: Database) -> list[str]:
    """Vacuum and reindex the partitions of ``readings`` that compaction has passed since the
    last sweep (PostgreSQL; outside a transaction, as VACUUM and REINDEX CONCURRENTLY run);
    returns their names. Another replica sweeping meanwhile: this one does nothing."""
    if db.dialect != "postgresql":
        return []
    with db.connect() as conn:
        if not conn.fetchval("SELECT pg_try_advisory_lock(:key)", {"key": _SWEEP_LOCK}):
            return []
        try:
            return _sweep_months(conn)
        finally:
            conn.execute("SELECT pg_advisory_unlock(:key)", {"key": _SWEEP_LOCK})


def _sweep_months(conn: Connection) -> list[str]:
    row = conn.fetchone("SELECT done_before, swept_before FROM readings_compaction WHERE id = 1")
    if row is None or row["done_before"] is None:
        return []
    swept = row["swept_before"]
    if swept is not None and swept >= partitions.month_start(row["done_before"]):  # months end on month starts
        return []
    months = sorted(
        (
            p
            for p in partitions.attached(conn)
            if p.parent == "readings" and p.upper <= row["done_before"] and (swept is None or p.upper > swept)
        ),
        key=lambda p: p.upper,
    )
    for month in months:
        conn.execute(f"VACUUM {month.name}")
        conn.execute(f"REINDEX TABLE CONCURRENTLY {month.name}")
        conn.execute("UPDATE readings_compaction SET swept_before = :upper WHERE id = 1", {"upper": month.upper})
    return [month.name for month in months]
