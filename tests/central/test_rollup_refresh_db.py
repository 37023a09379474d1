"""A refresh of hourly summaries reads the hours it refreshes, not all of ``readings`` (PostgreSQL).

The refresh is one statement over many runs of hours. Left to itself, the planner flattened
the per-run subquery into a join, could not estimate the runs' bounds, and scanned every row
of every partition on each pass of the rollup worker: a cost that grew with the history kept,
not with the readings that arrived (``central.telemetry.rollup.refresh_ranges``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from central.db import Database, open_database
from central.telemetry import rollup
from tests.factories import add_point

NOW = datetime(2026, 11, 20, tzinfo=UTC)
POINTS = 20
DAYS = 3
VARIABLES = ("flow", "totalizer", "level")


@pytest.fixture
def db(pg_url: str) -> Iterator[Database]:
    """POINTS points with DAYS days of one-minute readings of VARIABLES before NOW, analysed."""
    database = open_database(pg_url)
    with database.transaction() as conn:
        for n in range(POINTS):
            add_point(conn, f"P{n}", NOW)
        conn.execute(
            "INSERT INTO readings (point_id, ts, variable, value, unit, quality, received_at)"
            " SELECT p.id, CAST(:start AS TIMESTAMPTZ) + m * interval '1 minute', v.variable, m, 'x', 'good', :now"
            " FROM points p, generate_series(0, :minutes - 1) m, unnest(CAST(:variables AS TEXT[])) v (variable)",
            {"start": NOW - timedelta(days=DAYS), "now": NOW, "minutes": DAYS * 24 * 60, "variables": list(VARIABLES)},
        )
    with database.connect() as conn:
        conn.execute("ANALYZE readings")
    yield database
    database.close()


def test_a_refresh_reads_only_the_rows_of_its_hours(db: Database) -> None:
    """An hour of each point, as a worker pass over a fleet's marks refreshes (before, every
    row of the table was read: the planner's estimate of the runs' rows made a scan cheaper)."""
    hour = NOW - timedelta(days=1)
    with db.transaction() as conn:
        point_ids = [row["id"] for row in conn.fetchall("SELECT id FROM points ORDER BY id")]
        rollup.refresh_ranges(conn, [rollup.StaleHours(point_id, hour, hour + rollup.HOUR) for point_id in point_ids])
        read = conn.fetchval(
            "SELECT SUM(seq_tup_read + COALESCE(idx_tup_fetch, 0)) FROM pg_stat_xact_user_tables"
            " WHERE relname LIKE 'readings%' AND relname NOT IN ('readings_hourly', 'readings_compaction')"
        )
        summaries = conn.fetchall("SELECT point_id, readings FROM readings_hourly ORDER BY point_id")
    assert summaries == [{"point_id": point_id, "readings": 60 * len(VARIABLES)} for point_id in point_ids]
    assert read == POINTS * 60 * len(VARIABLES)  # of the DAYS * 24 times as many stored
