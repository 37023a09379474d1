"""The compliance ledger, summarised for the submission rules (read-only SQL).

The ledger tables belong to ``compliance``; ``central`` does not import that package, so
this reads the tables directly (migration 0300, always applied with the others, creates
them). Per point and regulator:

- ``oldest_pending_due``: the oldest slot, already past, that is not settled (accepted,
  discarded, shadowed or without data). Lateness is counted from the slot itself;
- ``failing_since``: the first send attempt of the submissions failing right now
  (rejected or waiting to retry), and the latest of their error messages;
- ``unrecoverable``: submissions refused for good and not yet resolved by a person.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from central.db import Connection

from .state import SubmissionSnapshot

SETTLED = ("accepted", "discarded", "shadowed", "no_data")
FAILING = ("rejected", "retry_scheduled")
LEDGER = "compliance_submissions"
ATTEMPTS = "compliance_attempts"


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def _pending(conn: Connection, now: datetime) -> list[dict[str, Any]]:
    return conn.fetchall(
        "SELECT point_id, regulator,"
        f" MIN(CASE WHEN state NOT IN ({_quoted(SETTLED)}) THEN slot END) AS oldest,"
        " SUM(CASE WHEN state = 'unrecoverable' THEN 1 ELSE 0 END) AS unrecoverable"
        f" FROM {LEDGER} WHERE slot <= :now GROUP BY point_id, regulator ORDER BY point_id, regulator",
        {"now": now})


def _failing(conn: Connection) -> dict[tuple[int, str], tuple[datetime, str | None]]:
    """(point, regulator) -> (first attempt of the failing submissions, newest error text)."""
    rows = conn.fetchall(
        f"SELECT s.point_id, s.regulator, a.started_at, COALESCE(a.error, a.message) AS error FROM {LEDGER} s"
        f" JOIN {ATTEMPTS} a ON a.submission_id = s.id AND a.kind = 'send'"
        f" WHERE s.state IN ({_quoted(FAILING)}) ORDER BY a.started_at, a.id")
    found: dict[tuple[int, str], tuple[datetime, str | None]] = {}
    for row in rows:
        key = (row["point_id"], row["regulator"])
        first = found[key][0] if key in found else row["started_at"]
        found[key] = (first, row["error"] or (found[key][1] if key in found else None))
    return found


def all_submission_snapshots(conn: Connection, now: datetime) -> dict[int, list[SubmissionSnapshot]]:
    """Every point's ledger summaries, keyed by point id (what the timer reads once per tick)."""
    failing = _failing(conn)
    result: dict[int, list[SubmissionSnapshot]] = defaultdict(list)
    for row in _pending(conn, now):
        since, error = failing.get((row["point_id"], row["regulator"]), (None, None))
        result[row["point_id"]].append(SubmissionSnapshot(
            regulator=row["regulator"], oldest_pending_due=row["oldest"], failing_since=since, last_error=error,
            unrecoverable=int(row["unrecoverable"] or 0)))
    return dict(result)
