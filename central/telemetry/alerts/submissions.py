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

from .state import SubmissionSnapshot

FACTS = "compliance_facts"
UNSETTLED, REFUSED, FAILING = "ledger.unsettled", "ledger.refused", "ledger.failing"


def _facts(conn: Connection) -> list[dict[str, Any]]:
    """Every (point, regulator) that ever had a ledger fact, with its open ones (a pair whose facts
    all cleared still gets a snapshot, so its alerts clear)."""
    return conn.fetchall(
        "SELECT point_id, regulator, kind, slot, raised_at, updated_at, message, cleared_at IS NULL AS open"
        f" FROM {FACTS} WHERE kind IN ('{UNSETTLED}', '{REFUSED}', '{FAILING}') AND regulator IS NOT NULL"
        " ORDER BY point_id, regulator")


def _snapshot(facts: list[dict[str, Any]], now: datetime) -> SubmissionSnapshot:
    """One (point, regulator) pair's summary from its ledger facts."""
    open_facts = [fact for fact in facts if fact["open"]]
    due = [fact["slot"] for fact in open_facts if fact["kind"] == UNSETTLED and fact["slot"] <= now]
    failing = [fact for fact in open_facts if fact["kind"] == FAILING]
    errors = sorted((fact for fact in failing if fact["message"]), key=lambda fact: fact["updated_at"])
    return SubmissionSnapshot(
        regulator=facts[0]["regulator"], oldest_pending_due=min(due, default=None),
        failing_since=min((fact["raised_at"] for fact in failing), default=None),
        last_error=errors[-1]["message"] if errors else None,
        unrecoverable=sum(1 for fact in open_facts if fact["kind"] == REFUSED))


def all_submission_snapshots(conn: Connection, now: datetime) -> dict[int, list[SubmissionSnapshot]]:
    """Every point's ledger summaries, keyed by point id (what the timer reads once per tick)."""
    grouped: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
    for fact in _facts(conn):
        grouped[(fact["point_id"], fact["regulator"])].append(fact)
    result: dict[int, list[SubmissionSnapshot]] = defaultdict(list)
    for (point_id, _), facts in sorted(grouped.items()):
        result[point_id].append(_snapshot(facts, now))
    return dict(result)
