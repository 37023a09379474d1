"""A backlog evaluated in one coalesced pass raises exactly what evaluating it batch by batch raises.

The evaluation queue merges the batches that piled up while it was busy into one pass (one
load of rule state, one write per point), and that pass sorts and filters the readings once
for all rules (:func:`.evaluate.evaluate_ordered`). Each row: one point's readings, minute by
minute, cut into batches; both ways must leave the same alerts (every field but the random id)
and the same rule states, on SQLite and PostgreSQL, and those alerts are the expected ones.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from central.db import Database
from central.telemetry.alerts.service import evaluate_ingest
from central.telemetry.processing import Processed
from tests.factories import add_point, processed

NOW = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)
START = NOW - timedelta(days=1)
Minute = Callable[[int], dict[str, float | None]]  # a minute's values by variable (None: a timeout)


def rising(minute: int) -> float:
    return 1000 + minute * 0.5


def steady(minute: int) -> dict[str, float | None]:
    return {"flow": 8 + minute % 3, "totalizer": rising(minute), "water_table": 40 + minute % 4 / 10}


def decrease_midway(minute: int) -> dict[str, float | None]:
    return {**steady(minute), "totalizer": rising(minute) - (50 if minute >= 70 else 0)}


def flow_spike(first: int, last: int) -> Minute:
    return lambda minute: {**steady(minute), "flow": 15.0 if first <= minute <= last else 8 + minute % 3}


def hovering(minute: int) -> dict[str, float | None]:
    flow = 12.3 if minute < 11 else [11.9, 12.2, 11.8, 12.1][minute % 4] if minute < 90 else 11.0
    return {**steady(minute), "flow": flow}


def frozen_meter(minute: int) -> dict[str, float | None]:
    return {**steady(minute), "totalizer": rising(min(max(minute, 10), 10) if minute < 60 else minute)}


def sensor_exposed(minute: int) -> dict[str, float | None]:
    return {**steady(minute), "water_table": 75.0 if 30 <= minute < 45 else 40.0}


def stuck_level(minute: int) -> dict[str, float | None]:
    return {"water_table": 41.5 if minute < 800 else 40.0 + minute % 2}


def with_gaps(minute: int) -> dict[str, float | None]:
    return {**flow_spike(20, 50)(minute), "totalizer": None if minute % 4 == 0 else rising(minute)}


Expected = list[tuple[str, str, float, float]]  # (kind, status, first_value, last_value)
CASES: list[tuple[str, Minute, int, list[int], Expected]] = [
    ("nothing fires", steady, 120, [40, 40, 40], []),
    (
        "totalizer decrease in the middle of the backlog",
        decrease_midway,
        120,
        [50, 50, 20],
        [("totalizer_decrease", "open", 985.0, 985.0)],
    ),
    (
        "threshold crossed and recovered inside one batch",
        flow_spike(10, 30),
        120,
        [60, 60],
        [("flow_above_right", "cleared", 15.0, 15.0)],
    ),
    (
        "threshold crossing spread over batches",
        flow_spike(35, 50),
        120,
        [40, 1, 5, 74],
        [("flow_above_right", "cleared", 15.0, 15.0)],
    ),
    (
        "flow hovering at the right, batches of one reading",
        hovering,
        100,
        [1] * 100,
        [("flow_above_right", "cleared", 12.3, 12.2)],
    ),
    (
        "frozen totalizer, then moving",
        frozen_meter,
        120,
        [30, 30, 30, 30],
        [("frozen_totalizer", "cleared", 1005.0, 1005.0)],
    ),
    ("water table near the sensor", sensor_exposed, 90, [35, 55], [("water_table_threshold", "cleared", 75.0, 75.0)]),
    ("a value stuck for hours", stuck_level, 820, [300, 300, 220], [("constant_value", "cleared", 41.5, 41.5)]),
    ("timeouts between readings", with_gaps, 100, [33, 33, 34], [("flow_above_right", "cleared", 15.0, 15.0)]),
]


def batches(point_id: int, values: Minute, minutes: int, sizes: list[int]) -> list[list[Processed]]:
    """The readings of ``minutes`` minutes cut into batches of ``sizes`` minutes."""
    assert sum(sizes) == minutes
    by_minute = [
        [
            processed(point_id, START + timedelta(minutes=minute), variable, value, raw_value=value)
            for variable, value in values(minute).items()
        ]
        for minute in range(minutes)
    ]
    cuts = [sum(sizes[:index]) for index in range(len(sizes) + 1)]
    return [[reading for minute in by_minute[low:high] for reading in minute] for low, high in pairwise(cuts)]


def outcome(db: Database) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    with db.connect() as conn:
        alerts = conn.fetchall(
            "SELECT rule_id, kind, subject, point_id, severity, status, message, opened_at,"
            " first_value, last_value, last_seen_at, cleared_at, clear_message FROM alerts"
            " ORDER BY rule_id, opened_at"
        )
        states = conn.fetchall("SELECT rule_id, state FROM alert_rule_states ORDER BY rule_id")
    return alerts, states


def start_over(db: Database) -> None:
    with db.transaction() as conn:
        conn.execute("DELETE FROM alerts")
        conn.execute("UPDATE alert_rule_states SET state = '{}'")


@pytest.mark.parametrize(
    ("values", "minutes", "sizes", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_a_coalesced_pass_raises_what_the_batches_raise_one_by_one(
    db: Database, values: Minute, minutes: int, sizes: list[int], expected: Expected
) -> None:
    with db.transaction() as conn:
        point_id = add_point(conn, "P1", NOW, water_right_lps=12.0, sensor_depth_m=80.0, flow_cutoff_lps=0.3)
    cut = batches(point_id, values, minutes, sizes)
    for batch in cut:
        evaluate_ingest(db, batch, NOW)
    one_by_one = outcome(db)
    start_over(db)
    evaluate_ingest(db, [reading for batch in cut for reading in batch], NOW)
    coalesced = outcome(db)
    assert (
        coalesced,
        [(row["kind"], row["status"], row["first_value"], row["last_value"]) for row in coalesced[0]],
    ) == (one_by_one, expected)
