"""Alert evaluation in its own process: the alerts role (``CAUDAL_ALERT_EVALUATION=role``).

Issue 16: evaluating alerts in the ingest process cost a fleet's small batches about a
quarter of the server's CPU, under the same GIL as the requests. With ``role``, ingest
only marks the points each batch wrote, in the batch's own transaction (:func:`mark`, one
more statement in the pipeline that ends it), and the process started with ``caudal
central serve --role alerts`` evaluates them (:func:`evaluate_pending`), reading the
readings back from the database.

Nothing is lost: the mark commits with the readings, is deleted in the transaction that
reads them and is put back if their evaluation fails; marks outlive restarts of either
process. Nothing is evaluated twice: evaluation ignores readings older than the newest it
already evaluated for a rule, so a mark that overlaps an evaluated range (a resend, or
a mark from the start of the hour) changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

from central.db import Connection, Database
from central.notify.settings import Preferences
from central.telemetry import lookups

from .service import evaluate_ingest

log = logging.getLogger("caudal.central.alerts")

MAX_READINGS_PER_POINT = 20_000  # per pass: a backlog's point is evaluated in slices, oldest first


class StoredReading(NamedTuple):
    point_id: int
    ts: datetime
    variable: str
    value: float | None
    quality: str


def earliest_by_point(items: Iterable[Any], at: str = "ts") -> dict[int, datetime]:
    """Each point's earliest ``at`` time among ``items`` (objects with ``point_id`` and ``at``):
    readings, or the stale hours ingest already worked out (``at="lo"``, the hour's start)."""
    earliest: dict[int, datetime] = {}
    for item in items:
        when = getattr(item, at)
        known = earliest.get(item.point_id)
        if known is None or when < known:
            earliest[item.point_id] = when
    return earliest


def mark(conn: Connection, earliest: dict[int, datetime]) -> None:
    """Mark each point to be evaluated from its time on."""
    conn.executemany(
        "INSERT INTO alert_pending (point_id, from_ts) VALUES (:p, :ts)",
        [{"p": point_id, "ts": ts} for point_id, ts in earliest.items()],
    )


def take(conn: Connection) -> tuple[list[StoredReading], dict[int, datetime]]:
    """Delete every mark; return the readings they cover, in time order, and the marks to put
    back for what is left beyond MAX_READINGS_PER_POINT (the caller's transaction)."""
    marks = conn.fetchall("SELECT id, point_id, from_ts FROM alert_pending")
    if not marks:
        return [], {}
    conn.executemany("DELETE FROM alert_pending WHERE id = :id", [{"id": row["id"]} for row in marks])
    earliest: dict[int, datetime] = {}
    for row in marks:
        if row["point_id"] not in earliest or row["from_ts"] < earliest[row["point_id"]]:
            earliest[row["point_id"]] = row["from_ts"]
    readings: list[StoredReading] = []
    rest: dict[int, datetime] = {}
    for point_id, from_ts in sorted(earliest.items()):
        rows = list(
            map(StoredReading._make, lookups.readings_from(conn, point_id, from_ts, MAX_READINGS_PER_POINT + 1))
        )
        if len(rows) > MAX_READINGS_PER_POINT:
            rest[point_id] = rows[-1].ts  # the last time read may be incomplete: it is read again next pass
            rows = [row for row in rows if row.ts < rest[point_id]]
        readings += rows
    return readings, rest


def evaluate_pending(db: Database, now: datetime, preferences: Preferences = Preferences()) -> int:
    """One pass of the alerts role: evaluate what the marks cover; returns the transitions written."""
    with db.transaction() as conn:
        readings, rest = take(conn)
        if rest:
            mark(conn, rest)
    if not readings:
        return 0
    try:
        return evaluate_ingest(db, readings, now, preferences)
    except Exception:
        with db.transaction() as conn:  # evaluated on the next pass instead of never
            mark(conn, earliest_by_point(readings))
        raise
