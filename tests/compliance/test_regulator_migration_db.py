"""Migration 0302: the database no longer lists the regulators (the registry validates names at
the application edge), and the ledger written before it is kept as it was, on both databases
(SQLite rebuilds the two tables; compliance_attempts still points at its submissions)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from central.db import Database, migrate, open_database
from tests.schema import migrate_before

NOW = datetime(2026, 11, 28, 13, tzinfo=UTC)
MIGRATION = 302


def a_ledger(db: Database) -> None:
    """A point with a DGA configuration, one submission accepted after one attempt."""
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO points (code, name, kind, created_at, updated_at) VALUES ('OB-0101-12', 'Pozo',"
            " 'subterranea', :n, :n)",
            {"n": NOW},
        )
        conn.execute(
            "INSERT INTO compliance_configs (point_id, regulator, mode, config, secret, created_at,"
            " updated_at, updated_by) SELECT id, 'dga', 'live', '{}', 'sealed', :n, :n, 'admin' FROM points",
            {"n": NOW},
        )
        conn.execute(
            "INSERT INTO compliance_submissions (point_id, regulator, slot, mode, state, comprobante,"
            " created_at, updated_at) SELECT id, 'dga', :n, 'live', 'accepted', '00123', :n, :n FROM points",
            {"n": NOW},
        )
        conn.execute(
            "INSERT INTO compliance_attempts (submission_id, kind, worker, started_at, request)"
            " SELECT id, 'send', 'w1', :n, '{}' FROM compliance_submissions",
            {"n": NOW},
        )


def contents(db: Database) -> list[list[dict]]:
    with db.connect() as conn:
        return [
            conn.fetchall(f"SELECT * FROM {table} ORDER BY 1")
            for table in ("compliance_configs", "compliance_submissions", "compliance_attempts")
        ]


@pytest.fixture
def old_db(database_url: str):
    database = open_database(database_url)
    migrate_before(database, MIGRATION, NOW)
    a_ledger(database)
    yield database
    database.close()


def test_the_ledger_written_before_is_kept_as_it_was(old_db):
    before = contents(old_db)
    migrate(old_db)
    assert contents(old_db) == before


def test_a_regulator_the_database_never_heard_of_can_be_stored(old_db):
    migrate(old_db)
    with old_db.transaction() as conn:
        conn.execute(
            "INSERT INTO compliance_configs (point_id, regulator, mode, config, secret, created_at,"
            " updated_at, updated_by) SELECT id, 'tercero', 'off', '{}', 'x', :n, :n, 'a' FROM points",
            {"n": NOW},
        )
        conn.execute(
            "INSERT INTO compliance_submissions (point_id, regulator, slot, mode, state, created_at,"
            " updated_at) SELECT id, 'tercero', :n, 'live', 'pending', :n, :n FROM points",
            {"n": NOW},
        )
    with old_db.connect() as conn:
        assert conn.fetchval("SELECT COUNT(*) FROM compliance_submissions WHERE regulator = 'tercero'") == 1


def test_an_attempt_still_needs_its_submission(old_db):
    migrate(old_db)
    with pytest.raises(Exception, match="(?i)foreign key"), old_db.transaction() as conn:
        conn.execute(
            "INSERT INTO compliance_attempts (submission_id, kind, worker, started_at, request)"
            " VALUES (999, 'send', 'w1', :n, '{}')",
            {"n": NOW},
        )
