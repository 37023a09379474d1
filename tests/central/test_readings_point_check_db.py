"""A reading's point must exist (migration 0170, PostgreSQL): checked once per statement by a
trigger instead of once per row by a foreign key, and a point with readings cannot be deleted.

Whatever way rows are stored (the group's INSERT, a backlog's COPY, a resend's INSERT from
staging), readings of a point that does not exist store nothing and raise the foreign key's
error; a deletion and the storing of the point's readings, run at once on two connections,
end as the foreign key ended them: the one that commits first wins, the other fails.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import UTC, datetime, timedelta

import pytest

from central.db import Connection, Database, IntegrityError, migrate, open_database
from central.telemetry.ingest import COLUMNS, _store_postgresql_skipping_known, insert_pipelined
from central.telemetry.processing import Processed
from protocols.uplink import Quality
from tests.schema import migrate_before

NOW = datetime(2026, 11, 28, 13, tzinfo=UTC)
DEADLINE_S = 15.0


@pytest.fixture
def pg(pg_url: str) -> Iterator[Database]:
    """A migrated database of this test's own."""
    with closing(open_database(pg_url)) as database:
        yield database


def add_point(db: Database, code: str) -> int:
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO points (code, name, kind, created_at, updated_at) VALUES (:c, :c, 'subterranea', :n, :n)",
            {"c": code, "n": NOW},
        )
        return conn.fetchval("SELECT id FROM points WHERE code = :c", {"c": code})


def rows(point_id: int, count: int = 3) -> list[Processed]:
    return [
        Processed(point_id, NOW + timedelta(minutes=n), "flow", 5.0, None, "L/s", Quality.GOOD, None, n, None, NOW)
        for n in range(count)
    ]


def by_insert(conn: Connection, point_id: int) -> None:
    with conn.pipeline():
        insert_pipelined(conn, rows(point_id))


def by_copy(conn: Connection, point_id: int) -> None:
    conn.copy_rows("readings", COLUMNS, rows(point_id))


def by_staging(conn: Connection, point_id: int) -> None:
    _store_postgresql_skipping_known(conn, rows(point_id))


STORES = [
    pytest.param(by_insert, id="insert"),
    pytest.param(by_copy, id="copy"),
    pytest.param(by_staging, id="staging"),
]


def stored(db: Database) -> int:
    with db.connect() as conn:
        return conn.fetchval("SELECT COUNT(*) FROM readings")


@pytest.mark.parametrize("store", STORES)
def test_readings_of_a_point_that_exists_are_stored(pg: Database, store: Callable[[Connection, int], None]) -> None:
    point_id = add_point(pg, "P1")
    with pg.transaction() as conn:
        store(conn, point_id)
    assert stored(pg) == 3


@pytest.mark.parametrize("store", STORES)
def test_readings_of_a_point_that_does_not_exist_store_nothing(
    pg: Database, store: Callable[[Connection, int], None]
) -> None:
    point_id = add_point(pg, "P1")
    with pytest.raises(IntegrityError, match="no such point"), pg.transaction() as conn:
        conn.copy_rows("readings", COLUMNS, rows(point_id, 1))  # one point that exists, in the same transaction
        store(conn, point_id + 1)
    assert stored(pg) == 0


def test_the_foreign_key_is_gone_from_readings_and_its_partitions(pg: Database) -> None:
    with pg.connect() as conn:
        keys = conn.fetchall(
            "SELECT CAST(conrelid AS regclass) AS tbl FROM pg_constraint WHERE contype = 'f'"
            " AND conrelid IN (SELECT relid FROM pg_partition_tree('readings'))"
        )
    assert keys == []


def test_a_point_without_readings_can_be_deleted(pg: Database) -> None:
    point_id = add_point(pg, "P1")
    with pg.transaction() as conn:
        conn.execute("DELETE FROM points WHERE id = :id", {"id": point_id})
    with pg.connect() as conn:
        assert conn.fetchval("SELECT COUNT(*) FROM points") == 0


def test_a_point_with_readings_cannot_be_deleted(pg: Database) -> None:
    point_id = add_point(pg, "P1")
    with pg.transaction() as conn:
        by_insert(conn, point_id)
    with pytest.raises(IntegrityError, match="still named by readings"), pg.transaction() as conn:
        conn.execute("DELETE FROM points WHERE id = :id", {"id": point_id})
    with pg.connect() as conn:
        assert (conn.fetchval("SELECT COUNT(*) FROM points"), stored(pg)) == (1, 3)


def lock_waiters(db: Database) -> int:
    with db.connect() as conn:
        return conn.fetchval(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )


def until_waiting(db: Database) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not lock_waiters(db):
        assert time.monotonic() < deadline, "nobody waited for a lock"
        time.sleep(0.01)


def first_holds(db: Database, first: Callable[[Connection], None], second: Callable[[Connection], None]) -> str:
    """``first`` runs in a transaction that stays open until ``second``, on another connection,
    waits for its lock; then ``first`` commits. What became of ``second``: "done" or its error."""
    done, commit = threading.Event(), threading.Event()

    def holding() -> None:
        with db.transaction() as conn:
            first(conn)
            done.set()
            commit.wait(DEADLINE_S)

    def waiting() -> str:
        try:
            with db.transaction() as conn:
                second(conn)
        except IntegrityError as refused:
            return str(refused).splitlines()[0]
        return "done"

    with ThreadPoolExecutor(2) as pool:
        held = pool.submit(holding)
        assert done.wait(DEADLINE_S)
        outcome = pool.submit(waiting)
        until_waiting(db)
        commit.set()
        held.result(DEADLINE_S)
        return outcome.result(DEADLINE_S)


def delete(point_id: int) -> Callable[[Connection], None]:
    def deleting(conn: Connection) -> None:
        conn.execute("DELETE FROM points WHERE id = :id", {"id": point_id})

    return deleting


def test_a_deletion_waits_for_readings_being_stored_and_then_finds_them(pg: Database) -> None:
    point_id = add_point(pg, "P1")
    outcome = first_holds(pg, lambda conn: by_insert(conn, point_id), delete(point_id))
    assert (outcome, stored(pg)) == (f"point {point_id} is still named by readings", 3)


@pytest.mark.parametrize("store", STORES)
def test_readings_stored_while_their_point_is_deleted_wait_and_store_nothing(
    pg: Database, store: Callable[[Connection, int], None]
) -> None:
    point_id = add_point(pg, "P1")
    outcome = first_holds(pg, delete(point_id), lambda conn: store(conn, point_id))
    assert (outcome, stored(pg)) == (
        f'readings of point {point_id} violate the key of table "points": no such point',
        0,
    )


def test_readings_stored_before_the_migration_keep_their_point(postgres_url: str) -> None:
    db = open_database(postgres_url)
    try:
        migrate_before(db, 170, NOW)
        point_id = add_point(db, "P1")
        with db.transaction() as conn:
            by_insert(conn, point_id)
        migrate(db)
        with pytest.raises(IntegrityError, match="still named by readings"), db.transaction() as conn:
            conn.execute("DELETE FROM points WHERE id = :id", {"id": point_id})
        assert stored(db) == 3
    finally:
        db.close()
