"""Many gateways' small batches stored in one transaction, each answered alone
(:func:`central.telemetry.ingest_group.ingest_group`, PostgreSQL).

Each upload's outcome is what :func:`~central.telemetry.ingest.ingest` would have answered it
alone; the group only changes how many transactions (and round trips) they cost.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from central.db import Connection, Database, DatabaseUnavailable, open_database
from central.deps import known_gateway
from central.errors import ApiError
from central.telemetry.ingest import IngestResult
from central.telemetry.ingest_group import Outcome, Upload, ingest_group
from central.telemetry.parse import BatchRejected
from tests.central.pg_trace import WaitCounter
from tests.central.telemetry_support import batch, reading
from tests.factories import add_gateway, add_point

NOW = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)
GATEWAYS = ("gw-a", "gw-b", "gw-c")


class CountingDatabase:
    """A real database whose transactions are counted; ``trace``: the round trips of the next
    transaction are counted from its start."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.transactions = 0
        self.trace: WaitCounter | None = None

    @contextmanager
    def transaction(self, **kwargs: Any) -> Iterator[Connection]:
        self.transactions += 1
        with self._db.transaction(**kwargs) as conn:
            if self.trace is not None:
                self.trace.start(conn)
            yield conn

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


@pytest.fixture
def db(pg_url: str) -> Iterator[CountingDatabase]:
    """Three gateways, gw-a to gw-c, each writing its own point (A1, B1, C1); token: the name."""
    with closing(open_database(pg_url)) as database:
        with database.transaction() as conn:
            for name in GATEWAYS:
                code = f"{name[-1].upper()}1"
                add_point(conn, code, NOW)
                add_gateway(conn, name, name, [code], NOW)
        yield CountingDatabase(database)


def document(gateway: str, minute: int = 10, *, point: str | None = None) -> dict[str, Any]:
    """``gateway``'s batch of a flow and a totalizer reading ``minute`` minutes before NOW."""
    code = point or f"{gateway[-1].upper()}1"
    ts = NOW - timedelta(minutes=minute)
    return batch(
        [reading(1, "flow", ts, 5.0, point=code), reading(2, "totalizer", ts, 100.0 + minute, point=code)],
        NOW,
        gateway=gateway,
    )


def upload(gateway: str, body: dict[str, Any] | bytes, *, token: str | None = None) -> Upload:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Upload(token or gateway, known_gateway, raw, NOW)


def answers(outcomes: list[Outcome]) -> list[tuple[Any, ...]]:
    """Each outcome as (stored, duplicates, config version) or (its error, status)."""
    return [
        (o.stored, o.duplicates, o.config_version) if isinstance(o, IngestResult) else (type(o).__name__, o.status)
        for o in outcomes
    ]


def stored_rows(db: CountingDatabase) -> list[tuple[str, str, int]]:
    """Every stored reading: its point, variable and minutes before NOW."""
    with db.connect() as conn:
        rows = conn.fetchall(
            "SELECT p.code, r.variable, r.ts FROM readings r JOIN points p ON p.id = r.point_id"
            " ORDER BY p.code, r.variable, r.ts"
        )
    return [(row["code"], row["variable"], int((NOW - row["ts"]).total_seconds() // 60)) for row in rows]


def contacts(db: CountingDatabase) -> list[tuple[str, bool]]:
    with db.connect() as conn:
        rows = conn.fetchall("SELECT name, last_seen_at FROM gateways ORDER BY name")
    return [(row["name"], row["last_seen_at"] == NOW) for row in rows]


def test_a_group_stores_every_upload_in_one_transaction_and_answers_each_alone(db: CountingDatabase) -> None:
    outcomes = ingest_group(db, [upload(name, document(name)) for name in GATEWAYS], 300)  # type: ignore[arg-type]
    assert (answers(outcomes), db.transactions) == ([(2, 0, None)] * 3, 1)
    with db.connect() as conn:
        ids = {row["code"]: row["id"] for row in conn.fetchall("SELECT code, id FROM points")}
    assert [o.point_ids for o in outcomes if isinstance(o, IngestResult)] == [[ids["A1"]], [ids["B1"]], [ids["C1"]]]
    assert stored_rows(db) == [(c, v, 10) for c in ("A1", "B1", "C1") for v in ("flow", "totalizer")]
    assert contacts(db) == [(name, True) for name in GATEWAYS]
    with db.connect() as conn:
        latest = conn.fetchall("SELECT variable, COUNT(*) AS n FROM latest_readings GROUP BY variable ORDER BY 1")
    assert [(row["variable"], row["n"]) for row in latest] == [("flow", 3), ("totalizer", 3)]


REFUSED = [  # the upload, its answer, the transactions (a body that does not parse is refused alone)
    pytest.param(upload("gw-b", document("gw-b"), token="not-a-token"), ("ApiError", 401), 1, id="bad-token"),
    pytest.param(upload("gw-b", document("gw-b", point="A1")), ("BatchRejected", 403), 1, id="point-not-its-own"),
    pytest.param(upload("gw-b", b'{"schema": 1, "readings": 7}'), ("BatchRejected", 422), 2, id="malformed"),
    pytest.param(upload("gw-b", document("gw-c")), ("BatchRejected", 422), 1, id="another-gateways-name"),
]


@pytest.mark.parametrize(("refused", "answer", "transactions"), REFUSED)
def test_a_refused_upload_is_answered_alone_and_the_others_are_stored(
    db: CountingDatabase, refused: Upload, answer: tuple[str, int], transactions: int
) -> None:
    group = [upload("gw-a", document("gw-a")), refused, upload("gw-c", document("gw-c"))]
    outcomes = ingest_group(db, group, 300)  # type: ignore[arg-type]
    assert (answers(outcomes), db.transactions) == ([(2, 0, None), answer, (2, 0, None)], transactions)
    assert isinstance(outcomes[1], ApiError | BatchRejected)
    assert stored_rows(db) == [(c, v, 10) for c in ("A1", "C1") for v in ("flow", "totalizer")]
    assert contacts(db) == [("gw-a", True), ("gw-b", False), ("gw-c", True)]


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        pytest.param(["gw-b"], [("ApiError", 401)], id="alone"),
        pytest.param(list(GATEWAYS), [(2, 0, None), ("ApiError", 401), (2, 0, None)], id="in a group"),
    ],
)
def test_a_revoked_token_is_refused_in_the_group_query_as_alone(
    db: CountingDatabase, names: list[str], expected: list[tuple[Any, ...]]
) -> None:
    with db.transaction() as conn:
        conn.execute("UPDATE gateways SET revoked_at = :now WHERE name = 'gw-b'", {"now": NOW})
    outcomes = ingest_group(db, [upload(name, document(name)) for name in names], 300)  # type: ignore[arg-type]
    assert answers(outcomes) == expected
    codes = [f"{name[-1].upper()}1" for name in names if name != "gw-b"]
    assert stored_rows(db) == [(c, v, 10) for c in codes for v in ("flow", "totalizer")]


def test_a_resend_in_a_group_has_every_upload_stored_alone_and_nothing_doubled(db: CountingDatabase) -> None:
    ingest_group(db, [upload("gw-a", document("gw-a"))], 300)  # type: ignore[arg-type]
    db.transactions = 0
    group = [upload("gw-a", document("gw-a")), upload("gw-b", document("gw-b")), upload("gw-c", document("gw-c"))]
    outcomes = ingest_group(db, group, 300)  # type: ignore[arg-type]
    # the group's transaction fails on the resend; then each alone: the resend twice (new, then skipping)
    assert (answers(outcomes), db.transactions) == ([(0, 2, None), (2, 0, None), (2, 0, None)], 5)
    assert stored_rows(db) == [(c, v, 10) for c in ("A1", "B1", "C1") for v in ("flow", "totalizer")]


def test_a_batch_too_large_for_a_group_is_stored_alone_after_it(db: CountingDatabase) -> None:
    many = [reading(n, "flow", NOW - timedelta(minutes=300 - n), 1.0, point="B1") for n in range(250)]
    group = [upload("gw-a", document("gw-a")), upload("gw-b", batch(many, NOW, gateway="gw-b"))]
    group.append(upload("gw-c", document("gw-c")))
    outcomes = ingest_group(db, group, 300)  # type: ignore[arg-type]
    assert (answers(outcomes), db.transactions) == ([(2, 0, None), (250, 0, None), (2, 0, None)], 2)


@pytest.mark.parametrize("size", [1, 2, 3])
def test_a_group_waits_for_the_server_twice_whatever_its_size(db: CountingDatabase, tmp_path, size: int) -> None:
    db.trace = WaitCounter(tmp_path / "trace")
    group = [upload(name, document(name)) for name in GATEWAYS[:size]]
    outcomes = ingest_group(db, group, 300)  # type: ignore[arg-type]
    # the tokens with the gateways' states, then the writes with COMMIT (stored alone: three each)
    assert (answers(outcomes), db.trace.stop()) == ([(2, 0, None)] * size, 2)


def test_a_tokens_second_upload_is_stored_alone_after_the_group(db: CountingDatabase) -> None:
    group = [upload("gw-a", document("gw-a", 20)), upload("gw-b", document("gw-b")), upload("gw-a", document("gw-a"))]
    outcomes = ingest_group(db, group, 300)  # type: ignore[arg-type]
    assert (answers(outcomes), db.transactions) == ([(2, 0, None)] * 3, 2)
    assert stored_rows(db) == [
        ("A1", "flow", 20),
        ("A1", "flow", 10),
        ("A1", "totalizer", 20),
        ("A1", "totalizer", 10),
        ("B1", "flow", 10),
        ("B1", "totalizer", 10),
    ]


def totalizer_flags(db: CountingDatabase) -> list[tuple[str, int, str]]:
    with db.connect() as conn:
        rows = conn.fetchall(
            "SELECT p.code, r.ts, r.flags FROM readings r JOIN points p ON p.id = r.point_id"
            " WHERE r.variable = 'totalizer' ORDER BY p.code, r.ts"
        )
    return [(row["code"], int((NOW - row["ts"]).total_seconds() // 60), row["flags"] or "") for row in rows]


def counts(gateway: str, *minutes_and_counts: tuple[int, float]) -> dict[str, Any]:
    code = f"{gateway[-1].upper()}1"
    readings = [
        reading(n, "totalizer", NOW - timedelta(minutes=m), c, point=code)
        for n, (m, c) in enumerate(minutes_and_counts)
    ]
    return batch(readings, NOW, gateway=gateway)


def test_each_member_reads_its_own_gateways_last_count_for_reset_flags(db: CountingDatabase) -> None:
    """gw-a's batch follows its latest count (one query for the group); gw-b's reaches back
    before its latest, to a count its own second query finds (1,000, not the latest 700);
    gw-c has none stored: each is flagged as it would be alone."""
    ingest_group(
        db, [upload("gw-a", counts("gw-a", (30, 500.0))), upload("gw-b", counts("gw-b", (50, 1000.0), (5, 700.0)))], 300
    )  # type: ignore[arg-type]
    group = [
        upload("gw-a", counts("gw-a", (20, 100.0), (10, 120.0))),  # down from 500: a reset
        upload("gw-b", counts("gw-b", (40, 800.0))),  # down from 1,000 (stored 50 minutes before): a reset
        upload("gw-c", counts("gw-c", (20, 50.0), (10, 40.0))),  # down within the batch: a reset
    ]
    outcomes = ingest_group(db, group, 300)  # type: ignore[arg-type]
    assert answers(outcomes) == [(2, 0, None), (1, 0, None), (2, 0, None)]
    assert totalizer_flags(db) == [
        ("A1", 30, ""),
        ("A1", 20, "reset"),
        ("A1", 10, ""),
        ("B1", 50, ""),
        ("B1", 40, "reset"),
        ("B1", 5, "reset"),
        ("C1", 20, ""),
        ("C1", 10, "reset"),
    ]


class CommitLost(CountingDatabase):
    """The group's transaction is lost at its end, as when the connection drops before COMMIT."""

    @contextmanager
    def transaction(self, **kwargs: Any) -> Iterator[Connection]:
        with super().transaction(**kwargs) as conn:
            yield conn
            raise DatabaseUnavailable("la conexión se cortó antes del COMMIT")


def test_a_group_whose_commit_is_lost_answers_no_upload_and_stores_nothing(db: CountingDatabase) -> None:
    lost = CommitLost(db._db)
    with pytest.raises(DatabaseUnavailable, match="antes del COMMIT"):
        ingest_group(lost, [upload(name, document(name)) for name in GATEWAYS], 300)  # type: ignore[arg-type]
    assert (stored_rows(db), contacts(db)) == ([], [(name, False) for name in GATEWAYS])
