"""Retention of readings (central/telemetry/retention.py, ``caudal central readings-retention``):
months older than the retention are detached from ``readings`` and ``readings_compact`` on a real
PostgreSQL, never a month compaction has not passed, and a reading older than every month kept
is still stored (a catch-all partition takes it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from central.cli import app
from central.db import Database, IntegrityError
from central.telemetry import compaction, partitions, retention
from central.telemetry.rollup_worker import one_pass

REAL_NOW = datetime.now(UTC)  # migration 0150 bounds its first partition by the database's own clock
M0 = partitions.month_start(REAL_NOW)


def month(offset: int) -> datetime:
    """The start of the UTC month ``offset`` months after M0's."""
    return retention.cut(M0, -offset)


def part(parent: str, name: str, lower: datetime | None, upper: datetime) -> retention.Partition:
    return retention.Partition(parent, name, lower, upper)


JAN, FEB, MAR = (datetime(2027, m, 1, tzinfo=UTC) for m in (1, 2, 3))
FOUND = [
    part("readings", "readings_before_partitions", None, JAN),
    part("readings", "readings_2027_01", JAN, FEB),
    part("readings", "readings_2027_02", FEB, MAR),
    part("readings_compact", "readings_compact_2027_01", JAN, FEB),
]


DETACH = ("detach", "retention")
KEEP_UNCOMPACTED = ("keep", "not_compacted")


@pytest.mark.parametrize(
    ("compacted_before", "compacting", "before_partitions", "january", "compact_january"),
    [
        pytest.param(FEB, True, DETACH, DETACH, DETACH, id="compacted-up-to-the-cut"),
        pytest.param(JAN, True, DETACH, KEEP_UNCOMPACTED, DETACH, id="january-not-compacted-yet"),
        pytest.param(None, True, KEEP_UNCOMPACTED, KEEP_UNCOMPACTED, DETACH, id="nothing-compacted-yet"),
        pytest.param(None, False, DETACH, DETACH, DETACH, id="compaction-off"),
    ],
)
def test_plan_detaches_the_months_before_the_cut_that_compaction_has_passed(
    compacted_before, compacting, before_partitions, january, compact_january
):
    """Each partition's (action, reason); the compacted table's month never waits for compaction."""
    now = datetime(2028, 2, 10, tzinfo=UTC)  # 12 months kept: the cut is 2027-02-01
    decisions = retention.plan(FOUND, now, 12, compacted_before, compacting)
    assert retention.cut(now, 12) == FEB
    assert [(d.partition.name, d.action, d.reason) for d in decisions] == [
        ("readings_before_partitions", *before_partitions),
        ("readings_2027_01", *january),
        ("readings_compact_2027_01", *compact_january),
    ]


def test_plan_keeps_a_catch_all_alone():
    found = [
        part("readings", "readings_expired_until_2027_02", None, FEB),
        part("readings", "readings_2027_02", FEB, MAR),
    ]
    decisions = retention.plan(found, datetime(2028, 2, 10, tzinfo=UTC), 12, MAR, True)
    assert [(d.partition.name, d.action, d.reason) for d in decisions] == [
        ("readings_expired_until_2027_02", "keep", "catch_all")
    ]


def tables(db: Database) -> set[str]:
    with db.connect() as conn:
        return {
            row["name"]
            for row in conn.fetchall(
                "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'readings%'"
            )
        }


def store_old_reading(db: Database, ts: datetime) -> str:
    """A reading at ``ts`` stored as ingest stores it; the partition that took it."""
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO points (code, name, kind, created_at, updated_at) VALUES ('OLD', 'OLD', 'subterranea',"
            " :n, :n) ON CONFLICT DO NOTHING",
            {"n": REAL_NOW},
        )
        conn.execute(
            "INSERT INTO readings (point_id, ts, variable, value, unit, quality, received_at) SELECT id, :ts,"
            " 'flow', 1.0, 'L/s', 'good', :ts FROM points WHERE code = 'OLD'",
            {"ts": ts},
        )
        return conn.fetchval("SELECT CAST(CAST(tableoid AS regclass) AS text) FROM readings WHERE ts = :ts", {"ts": ts})


@pytest.fixture
def pg(postgres_url: str):
    from central.db import migrate, open_database

    database = open_database(postgres_url)
    migrate(database)
    one_pass(database, REAL_NOW)  # the months ahead: M1 and M2
    with database.transaction() as conn:
        compaction._ensure_months(conn, month(-3), month(-1))  # compacted months M-3 and M-2
    yield database
    database.close()


def set_compacted_before(db: Database, when: datetime) -> None:
    with db.transaction() as conn:
        conn.execute("UPDATE readings_compaction SET done_before = :t, reach = :t", {"t": when})


def test_apply_detaches_what_compaction_passed_and_keeps_old_readings_storable(pg: Database):
    assert store_old_reading(pg, datetime(2020, 5, 1, tzinfo=UTC)) == "readings_before_partitions"
    set_compacted_before(pg, month(1))
    later = month(14) + timedelta(days=3)  # 12 months kept: the cut is M2's start
    decisions, catch_all = retention.apply(pg, later, 12, compacting=True)
    assert [(d.partition.name, d.action) for d in decisions] == [
        (compaction.compact_partition_name(month(-3)), "detach"),
        (compaction.compact_partition_name(month(-2)), "detach"),
        ("readings_before_partitions", "detach"),
        (partitions.partition_name(month(1)), "keep"),
    ]
    assert catch_all == f"readings_expired_until_{month(1):%Y_%m}"
    assert store_old_reading(pg, datetime(2021, 1, 1, tzinfo=UTC)) == catch_all
    with pg.connect() as conn:  # detached, not dropped: the month is there to archive, outside every query
        assert conn.fetchval("SELECT COUNT(*) FROM readings_before_partitions") == 1
        assert conn.fetchval("SELECT COUNT(*) FROM readings WHERE ts < :t", {"t": month(0)}) == 1
    set_compacted_before(pg, month(2))
    decisions, second = retention.apply(pg, later, 12, compacting=True, drop=True)
    assert [(d.partition.name, d.action) for d in decisions] == [
        (catch_all, "detach"),
        (partitions.partition_name(month(1)), "detach"),
    ]
    assert second == f"readings_expired_until_{month(2):%Y_%m}"
    assert {catch_all, partitions.partition_name(month(1))} & tables(pg) == set()
    assert "readings_before_partitions" in tables(pg)


def delete_old_point(db: Database) -> str:
    try:
        with db.transaction() as conn:
            conn.execute("DELETE FROM points WHERE code = 'OLD'")
    except IntegrityError:
        return "refused"
    return "deleted"


@pytest.mark.parametrize(("drop", "expected"), [(False, "refused"), (True, "deleted")])
def test_a_point_named_by_a_detached_month_stays_until_the_month_is_dropped(pg: Database, drop: bool, expected: str):
    store_old_reading(pg, datetime(2020, 5, 1, tzinfo=UTC))
    set_compacted_before(pg, month(1))
    retention.apply(pg, month(14) + timedelta(days=3), 12, compacting=True, drop=drop)
    with pg.connect() as conn:
        assert conn.fetchval("SELECT COUNT(*) FROM readings") == 0  # the month is out of readings
    assert delete_old_point(pg) == expected


def test_a_dry_run_changes_nothing(pg: Database):
    before = tables(pg)
    decisions, catch_all = retention.apply(pg, month(14), 12, compacting=False, dry_run=True)
    assert [d.action for d in decisions] == ["detach"] * 4 and catch_all is None
    assert tables(pg) == before
    with pg.connect() as conn:
        assert len(retention.attached(conn)) == 5


def test_the_command_detaches_and_says_so_in_spanish(pg: Database, postgres_url: str):
    env = {"CAUDAL_DATABASE_URL": postgres_url, "CAUDAL_READINGS_RETENTION_MONTHS": "1"}
    result = CliRunner().invoke(app, ["readings-retention", "--drop"], env=env)
    lower, upper = (f"{m:%Y-%m-%d}" for m in (month(-3), month(-2)))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (
        f"eliminada {compaction.compact_partition_name(month(-3))} (readings_compact, desde {lower} hasta {upper})"
    )
    again = CliRunner().invoke(app, ["readings-retention"], env=env)
    assert again.output == f"nada que desacoplar antes de {month(-1):%Y-%m-%d}\n"
    off = CliRunner().invoke(app, ["readings-retention"], env={**env, "CAUDAL_READINGS_RETENTION_MONTHS": "0"})
    assert off.output == "CAUDAL_READINGS_RETENTION_MONTHS es 0: se conservan todas las lecturas\n"
