"""Default alert rules for many new points and gateways at once (issue 16).

A fresh server with thousands of points seeds their rules in its first timer pass; the
rules must be exactly each subject's defaults, once, in order, each with an empty state,
in a few statements for any number of subjects, and two transactions seeding the same
subjects at once must not give any of them two sets of rules.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from central.db import Connection, Database, open_database
from central.telemetry.alerts import default_gateway_rules, default_rules
from central.telemetry.alerts.rule_store import SEED_CHUNK, ensure_all_rules, ensure_point_rules
from tests.central.alerts.db_support import CountingConnection
from tests.factories import add_numbered_gateways, add_numbered_points
from tests.faults.rig import wait_until

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
POINTS = 2 * SEED_CHUNK + 500  # three chunks, the last one partial


def add_points(conn: Connection, count: int) -> None:
    """``count`` points P0..; every third has a water right, every fifth a sensor depth, every
    other a flow cut-off (so the defaults differ between points)."""
    add_numbered_points(
        conn,
        [
            {
                "water_right_lps": 10.0 + n % 7 if n % 3 == 0 else None,
                "sensor_depth_m": 60.0 + n % 11 if n % 5 == 0 else None,
                "flow_cutoff_lps": 0.3 if n % 2 else 0.0,
            }
            for n in range(count)
        ],
        NOW,
    )


def expected_point_rules(conn: Connection) -> dict[str, list[str]]:
    """Each point's defaults as :func:`default_rules` makes them, by code, in order."""
    return {
        row["code"]: [rule.model_dump_json() for rule in default_rules(SimpleNamespace(**row))]
        for row in conn.fetchall("SELECT code, water_right_lps, flow_cutoff_lps, sensor_depth_m FROM points")
    }


def stored_rules(conn: Connection, scope: str) -> dict[str, list[str]]:
    """Each subject's stored rules (point code or gateway name), in id order, with their state."""
    subject = "p.code" if scope == "point" else "g.name"
    rows = conn.fetchall(
        f"SELECT {subject} AS subject, r.config, st.state FROM alert_rules r"
        " LEFT JOIN alert_rule_states st ON st.rule_id = r.id LEFT JOIN points p ON p.id = r.point_id"
        " LEFT JOIN gateways g ON g.id = r.gateway_id WHERE r.scope = :scope ORDER BY r.id",
        {"scope": scope},
    )
    assert {row["state"] for row in rows} == {"{}"}, "every rule has an empty evaluation state"
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row["subject"], []).append(row["config"])
    return found


@pytest.fixture
def seeded_db(db: Database) -> Database:
    with db.transaction() as conn:
        add_points(conn, POINTS)
        add_numbered_gateways(conn, 40, NOW)
    return db


def test_a_timer_pass_gives_every_new_point_and_gateway_its_defaults_once_in_order(seeded_db: Database) -> None:
    with seeded_db.transaction() as conn:
        ensure_all_rules(conn, NOW)
    with seeded_db.connect() as conn:
        gateway_defaults = [rule.model_dump_json() for rule in default_gateway_rules()]
        assert stored_rules(conn, "point") == expected_point_rules(conn)
        assert stored_rules(conn, "gateway") == {f"gw-{n}": gateway_defaults for n in range(40)}
        assert conn.fetchall("SELECT scope, count(*) AS n FROM alert_rule_sets GROUP BY scope ORDER BY scope") == [
            {"scope": "gateway", "n": 40},
            {"scope": "point", "n": POINTS},
        ]


def test_seeding_thousands_of_points_takes_three_statements_per_chunk(seeded_db: Database) -> None:
    """Two statements per rule (45,451 here) made a fresh server spend seconds seeding;
    and no statement has more than :data:`SEED_CHUNK` subjects' parameters."""
    with seeded_db.transaction() as conn:
        counting = CountingConnection(conn)
        ensure_all_rules(counting, NOW)  # type: ignore[arg-type]
    point_chunks = -(-POINTS // SEED_CHUNK)
    # points: those never seeded; per chunk those seeded meanwhile, their rows, claims, rules
    # and states; gateways: those never seeded, then claims, rules and states of one chunk
    assert (counting.statements, counting.most_parameters) == (1 + 5 * point_chunks + 1 + 3, SEED_CHUNK + 2)


def test_a_second_pass_adds_nothing(seeded_db: Database) -> None:
    with seeded_db.transaction() as conn:
        ensure_all_rules(conn, NOW)
    with seeded_db.transaction() as conn:
        before = conn.fetchval("SELECT count(*) FROM alert_rules")
        ensure_all_rules(conn, NOW)
        ensure_point_rules(conn, _point_ids(seeded_db), NOW)
        assert conn.fetchval("SELECT count(*) FROM alert_rules") == before


@pytest.mark.postgres
def test_two_transactions_seeding_the_same_points_at_once_give_each_point_one_set(pg_url: str) -> None:
    """The first holds its seeding uncommitted while the second, over an overlapping range,
    waits on it; once the first commits, the second seeds only the points the first did not."""
    db = open_database(pg_url)
    try:
        with db.transaction() as conn:
            add_points(conn, 3 * SEED_CHUNK)
        ids = _point_ids(db)
        racing = Seeding(db, ids[SEED_CHUNK // 2 :])
        with db.transaction() as conn:
            ensure_point_rules(conn, ids[: 2 * SEED_CHUNK], NOW)
            racing.start()
            wait_until(lambda: _backends_waiting_for_a_lock(db) == 1, 20, "the racing seed to wait for ours")
        racing.join()
        with db.connect() as conn:
            assert stored_rules(conn, "point") == expected_point_rules(conn)
            sets = Counter(row["subject_id"] for row in conn.fetchall("SELECT subject_id FROM alert_rule_sets"))
            assert sets == Counter(ids)
    finally:
        db.close()


def _point_ids(db: Database) -> list[int]:
    with db.connect() as conn:
        return [row["id"] for row in conn.fetchall("SELECT id FROM points ORDER BY id")]


def _backends_waiting_for_a_lock(db: Database) -> int:
    with db.connect() as conn:
        return int(
            conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )


class Seeding(threading.Thread):
    """``ensure_point_rules`` in a transaction of its own, on a thread; :meth:`join` raises what it raised."""

    def __init__(self, db: Database, point_ids: list[int]) -> None:
        super().__init__()
        self._db, self._point_ids = db, point_ids
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self._db.transaction() as conn:
                ensure_point_rules(conn, self._point_ids, NOW)
        except BaseException as exc:
            self.error = exc

    def join(self, timeout: float | None = 30) -> None:
        super().join(timeout)
        assert not self.is_alive(), "the racing seed never finished"
        if self.error is not None:
            raise self.error
