"""A batch's new rule states, stored in one statement (issue 16: ``save_states`` was one
UPDATE per rule, a third of an inline evaluation's time under a fleet's batches)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from central.db import Database
from central.telemetry.alerts.rule_store import ensure_point_rules, rules_for_points, save_states
from central.telemetry.alerts.service import READING_KINDS
from central.telemetry.alerts.state import RuleState, Run
from tests.central.alerts.db_support import CountingConnection
from tests.factories import add_numbered_points

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
EARLIER = NOW - timedelta(hours=1)
EVERYTHING = RuleState(
    active=True,
    since=NOW - timedelta(minutes=5),
    last_ts=NOW - timedelta(seconds=30),
    ref=183402.7,
    ref_since=NOW - timedelta(minutes=20),
    flow_above_since=NOW - timedelta(minutes=7),
    runs={"level": Run(value=42.125, since=NOW - timedelta(hours=2), last=NOW - timedelta(seconds=30))},
)
LAST_SEEN = RuleState(last_ts=NOW - timedelta(seconds=90))


@pytest.fixture
def rule_ids(db: Database) -> list[int]:
    """Four reading rules of two new points, their states empty, last stored at EARLIER."""
    with db.transaction() as conn:
        add_numbered_points(conn, [{"water_right_lps": 12.0}, {}], EARLIER)
        points = [row["id"] for row in conn.fetchall("SELECT id FROM points ORDER BY id")]
        ensure_point_rules(conn, points, EARLIER)
        return [stored.id for stored in rules_for_points(conn, points, READING_KINDS)][:4]


def stored_states(db: Database) -> dict[int, tuple[RuleState, datetime]]:
    with db.connect() as conn:
        rows = conn.fetchall("SELECT rule_id, state, updated_at FROM alert_rule_states")
    return {row["rule_id"]: (RuleState.model_validate_json(row["state"]), _utc(row["updated_at"])) for row in rows}


def _utc(value: datetime | str) -> datetime:
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    return parsed.astimezone(UTC)


def test_each_rule_gets_its_own_state_and_the_others_keep_theirs(db: Database, rule_ids: list[int]) -> None:
    first, second, third, untouched = rule_ids
    with db.transaction() as conn:
        save_states(conn, [(third, LAST_SEEN)], EARLIER)
    before = stored_states(db)
    with db.transaction() as conn:
        save_states(conn, [(first, EVERYTHING), (second, LAST_SEEN), (third, RuleState())], NOW)
    assert stored_states(db) == {
        **before,
        first: (EVERYTHING, NOW),
        second: (LAST_SEEN, NOW),
        third: (RuleState(), NOW),
    }
    assert before[untouched] == (RuleState(), EARLIER)


def test_no_state_sends_nothing(db: Database, rule_ids: list[int]) -> None:
    before = stored_states(db)
    with db.transaction() as conn:
        counting = CountingConnection(conn)
        save_states(counting, [], NOW)  # type: ignore[arg-type]
    assert (counting.calls, stored_states(db)) == ([], before)


ONE_STATEMENT = {"postgresql": ["execute"], "sqlite": ["executemany"]}  # SQLite runs in-process


def test_a_batchs_states_go_in_one_statement(db: Database) -> None:
    with db.transaction() as conn:
        add_numbered_points(conn, [{} for _ in range(40)], EARLIER)
        points = [row["id"] for row in conn.fetchall("SELECT id FROM points")]
        ensure_point_rules(conn, points, EARLIER)
        rules = [stored.id for stored in rules_for_points(conn, points, READING_KINDS)]
    before = stored_states(db)
    with db.transaction() as conn:
        counting = CountingConnection(conn)
        save_states(counting, [(rule_id, LAST_SEEN) for rule_id in rules], NOW)  # type: ignore[arg-type]
    assert counting.calls == ONE_STATEMENT[db.dialect]
    assert stored_states(db) == {**before, **dict.fromkeys(rules, (LAST_SEEN, NOW))}
