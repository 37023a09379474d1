"""A pipelined transaction (``Database.transaction(pipelined=True)``): what it stores, what an
error undoes, and how many round trips it costs, counted in libpq's protocol trace (each time
the client waits, it sends Flush).

The round-trip tests run on PostgreSQL only (``postgres_db``): SQLite has no round trips, and
the flag changes nothing there.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from central.db import Connection, Database, IntegrityError, open_database
from central.db.postgres import PostgresDatabase
from central.deps import gateway_of
from central.telemetry.ingest import ingest
from tests.central.pg_trace import WaitCounter
from tests.central.telemetry_support import GATEWAY_TOKEN, batch, reading
from tests.factories import add_gateway, add_point

NOW = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)
INSERT = "INSERT INTO users (username, password_hash, created_at) VALUES (:u, 'x', :t)"


def usernames(db) -> list[str]:
    with db.connect() as conn:
        return [row["username"] for row in conn.fetchall("SELECT username FROM users ORDER BY username")]


def test_a_pipelined_transaction_stores_every_statement_and_reads_its_own_writes(db):
    with db.transaction(pipelined=True) as conn:
        conn.execute(INSERT, {"u": "ana", "t": NOW})
        seen = conn.fetchval("SELECT COUNT(*) FROM users")
        conn.execute(INSERT, {"u": "beto", "t": NOW})
    assert (seen, usernames(db)) == (1, ["ana", "beto"])


def test_an_error_in_a_pipelined_transaction_is_ours_and_undoes_it(db):
    with pytest.raises(IntegrityError):
        with db.transaction(pipelined=True) as conn:
            conn.execute(INSERT, {"u": "ana", "t": NOW})
            conn.execute(INSERT, {"u": "ana", "t": NOW})
    assert usernames(db) == []


def test_an_exception_of_the_caller_undoes_a_pipelined_transaction(db):
    with pytest.raises(RuntimeError, match="refused"):
        with db.transaction(pipelined=True) as conn:
            conn.execute(INSERT, {"u": "ana", "t": NOW})
            raise RuntimeError("refused")
    assert usernames(db) == []


def test_a_connection_goes_back_to_the_pool_as_it_came_after_a_pipelined_transaction(db):
    with pytest.raises(IntegrityError):
        with db.transaction(pipelined=True) as conn:
            conn.execute(INSERT, {"u": "ana", "t": NOW})
            conn.execute(INSERT, {"u": "ana", "t": NOW})
    with pytest.raises(IntegrityError):  # a plain transaction on it still undoes what failed
        with db.transaction() as conn:
            conn.execute(INSERT, {"u": "beto", "t": NOW})
            conn.execute(INSERT, {"u": "beto", "t": NOW})
    with db.transaction() as conn:
        conn.execute(INSERT, {"u": "carla", "t": NOW})
    assert usernames(db) == ["carla"]


@pytest.fixture
def postgres_db(pg_url: str) -> Iterator[Database]:
    """A migrated PostgreSQL database (a copy of the suite's template)."""
    with closing(open_database(pg_url)) as database:
        yield database


def test_a_pipelined_transaction_waits_once_per_read_and_once_at_its_end(postgres_db, tmp_path):
    counter = WaitCounter(tmp_path / "trace")
    with postgres_db.transaction(pipelined=True) as conn:
        counter.start(conn)
        conn.execute(INSERT, {"u": "ana", "t": NOW})
        conn.fetchval("SELECT COUNT(*) FROM users")
        conn.execute(INSERT, {"u": "beto", "t": NOW})
        with conn.pipeline():  # adds no wait of its own
            conn.execute(INSERT, {"u": "carla", "t": NOW})
    assert (counter.stop(), usernames(postgres_db)) == (2, ["ana", "beto", "carla"])


def post(db, document: dict, counter: WaitCounter | None = None) -> int:
    """Ingest ``document`` as gw-norte; how many readings were new. ``counter`` counts from the token's check on."""

    def authenticate(conn: Connection):
        if counter is not None:
            counter.start(conn)
        return gateway_of(conn, GATEWAY_TOKEN)

    return ingest(db, authenticate, json.dumps(document).encode(), NOW, 300).stored


@pytest.mark.parametrize(
    ("latest", "waits"),
    [
        pytest.param(NOW - timedelta(minutes=10), 3, id="following-the-latest-count"),
        pytest.param(NOW, 4, id="reaching-back-before-the-latest-count"),
    ],
)
def test_a_small_new_batch_costs_three_round_trips_unless_it_reaches_back(postgres_db, tmp_path, latest, waits):
    with postgres_db.transaction() as conn:
        add_point(conn, "P1", NOW)
        add_gateway(conn, "gw-norte", GATEWAY_TOKEN, ["P1"], NOW)
    post(postgres_db, batch([reading(1, "totalizer", latest, 100.0)], NOW))
    counter = WaitCounter(tmp_path / "trace")
    stored = post(postgres_db, batch([reading(2, "totalizer", NOW - timedelta(minutes=5), 110.0)], NOW), counter)
    assert (stored, counter.stop()) == (1, waits)


@pytest.mark.parametrize("before", range(9))
def test_a_resend_leaves_its_connection_able_to_store_the_next_batches(postgres_db, pg_url, before):
    """psycopg prepares a statement on the server the sixth time a connection runs it. When
    that sixth time falls in a pipeline that a resend's duplicate aborts, the server never
    prepares it, yet psycopg notes it as prepared; every later run of it on that connection
    failed ("prepared statement _pg3_N does not exist"), the resend's second try first.
    On one new connection: a resend, ``before`` new batches, the resend again, a new batch."""
    with postgres_db.transaction() as conn:
        add_point(conn, "P1", NOW)
        add_gateway(conn, "gw-norte", GATEWAY_TOKEN, ["P1"], NOW)

    def new(seq: int) -> dict:
        return batch([reading(seq, "flow", NOW - timedelta(minutes=60 - seq), 1.0)], NOW)

    post(postgres_db, new(0))
    with closing(PostgresDatabase(pg_url, max_size=1)) as db:
        stored = [post(db, new(0))]
        stored += [post(db, new(seq)) for seq in range(1, before + 1)]
        stored += [post(db, new(0)), post(db, new(before + 1))]
    assert stored == [0] + [1] * before + [0, 1]


def backend(db) -> int:
    with db.connect() as conn:
        return conn.fetchval("SELECT pg_backend_pid()")


def fail_in_the_server(conn: Connection) -> None:
    conn.execute(INSERT, {"u": "ana", "t": NOW})
    conn.execute(INSERT, {"u": "ana", "t": NOW})


def fail_in_the_server_then_in_the_caller(conn: Connection) -> None:
    fail_in_the_server(conn)
    raise RuntimeError("refused")  # before any read: psycopg drops the server's error


def fail_in_the_caller(conn: Connection) -> None:
    conn.fetchval("SELECT COUNT(*) FROM users")
    raise RuntimeError("refused")  # a 401 or a refused batch: no statement failed


@pytest.mark.parametrize(
    ("failure", "pipelined", "kept"),
    [
        (fail_in_the_server, True, False),
        (fail_in_the_server_then_in_the_caller, True, False),
        (fail_in_the_caller, True, True),
        (fail_in_the_server, False, False),
        (fail_in_the_caller, False, True),
    ],
)
def test_a_connection_whose_pipeline_a_statement_aborted_is_not_reused(pg_url, failure, pipelined, kept):
    """After a statement failed in a pipeline, psycopg's note of what the server prepared can
    be wrong (see the test above), so the connection is closed and the pool opens another."""
    with closing(PostgresDatabase(pg_url, max_size=1)) as db:
        before = backend(db)
        with pytest.raises((IntegrityError, RuntimeError)), db.transaction(pipelined=pipelined) as conn:
            if pipelined:
                failure(conn)
            else:
                with conn.pipeline():
                    failure(conn)
        assert (backend(db) == before, usernames(db)) == (kept, [])


def test_a_resend_logs_no_warning_from_psycopg(postgres_db, caplog):
    """A resend's duplicate readings abort the pipeline, and the error surfaces while the
    statements after them are being sent; psycopg then warns that the pipeline ended aborted.
    That error is handled (the batch is stored again without its known readings), so the
    warning would only alarm whoever reads the server's log."""
    with postgres_db.transaction() as conn:
        add_point(conn, "P1", NOW)
        add_gateway(conn, "gw-norte", GATEWAY_TOKEN, ["P1"], NOW)
    document = batch([reading(1, "flow", NOW - timedelta(minutes=5), 1.0)], NOW)
    with caplog.at_level(logging.WARNING):
        assert [post(postgres_db, document), post(postgres_db, document)] == [1, 0]
    assert [record for record in caplog.records if record.name.startswith("psycopg")] == []
