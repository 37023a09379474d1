"""The compliance ledger as the submission rules need it, from the facts compliance publishes
(read-only SQL).

``compliance`` keeps, per submission, open rows in its table ``compliance_facts`` (migration
0301) that follow the submission's state; ``central`` does not import that package and
never reads the ledger itself, only these rows. Per point and regulator:

- ``oldest_pending_due``: the oldest slot, already past, of an open ``ledger.unsettled`` fact
  (not accepted, discarded, shadowed nor a gap). Lateness is counted from the slot itself;
- ``failing_since``: the first send of the submissions failing right now (open
  ``ledger.failing``: rejected or waiting to retry), and the newest of their error messages;
- ``unrecoverable``: open ``ledger.refused`` facts (refused for good, not yet resolved).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from central.db import Connection
from central.regulators import Regulators

from .state import SubmissionSnapshot

FACTS = "compliance_facts"
UNSETTLED, REFUSED, FAILING = "ledger.unsettled", "ledger.refused", "ledger.failing"


_KINDS = f"'{UNSETTLED}', '{REFUSED}', '{FAILING}'"


def _summaries(conn: Connection, now: datetime) -> list[dict[str, Any]]:
    """Per (point, regulator) that ever had a ledger fact: the aggregates of its open ones (a pair
    whose facts all cleared still gets a row, so its alerts clear)."""
    return conn.fetchall(
        "SELECT point_id, regulator,"
        f" MIN(CASE WHEN cleared_at IS NULL AND kind = '{UNSETTLED}' AND slot <= :now THEN slot END) AS oldest,"
        f" MIN(CASE WHEN cleared_at IS NULL AND kind = '{FAILING}' THEN raised_at END) AS failing_since,"
        f" SUM(CASE WHEN cleared_at IS NULL AND kind = '{REFUSED}' THEN 1 ELSE 0 END) AS unrecoverable"
        f" FROM {FACTS} WHERE kind IN ({_KINDS}) AND regulator IS NOT NULL"
        " GROUP BY point_id, regulator ORDER BY point_id, regulator",
        {"now": now},
    )


def _last_errors(conn: Connection) -> dict[tuple[int, str], str]:
    """(point, regulator) -> the newest error of its failing submissions."""
    rows = conn.fetchall(
        f"SELECT point_id, regulator, message FROM {FACTS} WHERE cleared_at IS NULL AND kind = '{FAILING}'"
        " AND message IS NOT NULL ORDER BY updated_at, id"
    )
    return {(row["point_id"], row["regulator"]): row["message"] for row in rows}


def all_submission_snapshots(
    conn: Connection, now: datetime, regulators: Regulators = Regulators()
) -> dict[int, list[SubmissionSnapshot]]:
    """Every point's ledger summaries, keyed by point id (what the timer reads once per tick)."""
    errors = _last_errors(conn)
    result: dict[int, list[SubmissionSnapshot]] = defaultdict(list)
    for row in _summaries(conn, now):
        result[row["point_id"]].append(
            SubmissionSnapshot(
                regulator=row["regulator"],
                spoken=regulators.spoken(row["regulator"]),
                oldest_pending_due=row["oldest"],
                failing_since=row["failing_since"],
                last_error=errors.get((row["point_id"], row["regulator"])),
                unrecoverable=int(row["unrecoverable"] or 0),
            )
        )
    return dict(result)
