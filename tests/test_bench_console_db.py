"""The console benchmark's fast load leaves the tables as the migrations made them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from benchmarks import bench_console

_PG = (
    "SELECT indexdef AS definition FROM pg_indexes WHERE tablename = :t UNION ALL"
    " SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = CAST(:t AS regclass)"
)
_SQLITE = "SELECT sql AS definition FROM sqlite_master WHERE tbl_name = :t AND sql IS NOT NULL"


def _schema(db: Any, table: str) -> list[str]:
    with db.connect() as conn:
        rows = conn.fetchall(_PG if conn.dialect == "postgresql" else _SQLITE, {"t": table})
    return sorted(row["definition"] for row in rows)


def test_the_ledgers_load_makes_every_hours_slot_and_keeps_its_indexes_and_constraints(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench_console, "POINTS", 4)
    monkeypatch.setattr(bench_console, "YEAR_AGO", bench_console.NOW - timedelta(hours=72))
    migrated = _schema(db, "compliance_submissions")
    ids = bench_console._points(db)
    bench_console._ledger(db)
    with db.connect() as conn:
        stored = conn.fetchall("SELECT state, COUNT(*) AS n FROM compliance_submissions GROUP BY state ORDER BY state")
        pending = conn.fetchall(
            "SELECT point_id, slot FROM compliance_submissions WHERE state = 'pending' ORDER BY point_id"
        )
    last = bench_console.NOW - timedelta(hours=1)
    thirds = [p for p in ids if p % 3 == 0]
    assert (stored, pending, _schema(db, "compliance_submissions")) == (
        [{"state": "accepted", "n": len(ids) * 72 - len(thirds)}, {"state": "pending", "n": len(thirds)}],
        [{"point_id": p, "slot": last} for p in thirds],
        migrated,
    )
