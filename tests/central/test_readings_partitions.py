"""Monthly partitions of ``readings`` on PostgreSQL (migration 0150, central/telemetry/partitions.py):
rows before the migration's next month stay in one partition, later months get their own,
created ahead by the rollup worker; SQLite keeps one table and nothing is created there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from central.db import IntegrityError
from central.telemetry import partitions
from central.telemetry.rollup_worker import one_pass

NOW = datetime.now(UTC)  # the migration bounds its first partition by the database's own clock


@pytest.mark.parametrize(
    ("t", "start", "following"),
    [
        (datetime(2026, 12, 3, 19, 5, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
        (datetime(2027, 1, 31, 23, 59, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC)),
        (
            datetime(2027, 2, 28, 21, 0, tzinfo=timezone(timedelta(hours=-4))),
            datetime(2027, 3, 1, tzinfo=UTC),
            datetime(2027, 4, 1, tzinfo=UTC),
        ),  # 01:00 UTC on 1 March: months are UTC months
    ],
)
def test_months_are_utc_months(t: datetime, start: datetime, following: datetime) -> None:
    assert (partitions.month_start(t), partitions.next_month(t)) == (start, following)


def months_after(t: datetime, count: int) -> list[datetime]:
    months = [partitions.next_month(t)]
    while len(months) < count:
        months.append(partitions.next_month(months[-1]))
    return months


def partition_of(db, ts: datetime) -> str:
    """Store one reading at ``ts``; the table that holds it ("readings" on SQLite)."""
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO points (code, name, kind, created_at, updated_at) VALUES (:c, :c, 'subterranea', :n, :n)",
            {"c": f"P{ts:%Y%m}", "n": NOW},
        )
        conn.execute(
            "INSERT INTO readings (point_id, ts, variable, value, unit, quality, received_at) SELECT id, :ts,"
            " 'flow', 1.0, 'L/s', 'good', :ts FROM points WHERE code = :c",
            {"ts": ts, "c": f"P{ts:%Y%m}"},
        )
        if conn.dialect == "sqlite":
            return "readings"
        return conn.fetchval("SELECT CAST(CAST(tableoid AS regclass) AS text) FROM readings WHERE ts = :ts", {"ts": ts})


def test_the_months_ahead_are_created_once(db) -> None:
    with db.transaction() as conn:
        created = [partitions.ensure_ahead(conn, NOW), partitions.ensure_ahead(conn, NOW)]
    expected = [partitions.partition_name(m) for m in months_after(NOW, 2)]  # the current month is in the first
    assert created == ([[], []] if db.dialect == "sqlite" else [expected, []])


def test_the_rollup_worker_pass_creates_them(db) -> None:
    one_pass(db, NOW)
    with db.connect() as conn:
        until = partitions.covered_until(conn)
    assert until == (None if db.dialect == "sqlite" else months_after(NOW, 3)[-1])


def test_each_reading_lands_in_its_months_partition(db) -> None:
    one_pass(db, NOW)
    later, last = months_after(NOW, 2)
    stored = [
        partition_of(db, ts)
        for ts in (datetime(2020, 5, 1, tzinfo=UTC), NOW, later + timedelta(days=3), last + timedelta(hours=1))
    ]
    assert stored == (
        ["readings"] * 4
        if db.dialect == "sqlite"
        else [
            "readings_before_partitions",
            "readings_before_partitions",
            partitions.partition_name(later),
            partitions.partition_name(last),
        ]
    )


def test_a_reading_past_the_partitions_is_refused_on_postgresql(db) -> None:
    """Why the worker creates them ahead (ingest refuses nothing later than a few minutes ahead)."""
    beyond = months_after(NOW, 3)[-1]
    if db.dialect == "sqlite":
        assert partition_of(db, beyond) == "readings"
        return
    with pytest.raises(IntegrityError):
        partition_of(db, beyond)
