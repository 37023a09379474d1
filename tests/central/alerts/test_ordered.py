"""The evaluated watermark: readings older than the newest one evaluated are ignored, one at
that very time is not, whether the rule is fed any order (:func:`evaluate_readings`) or the
time-ordered usable readings ingest prepares once per batch (:func:`evaluate_ordered`)."""

from __future__ import annotations

from datetime import datetime

import pytest

from central.telemetry.alerts import RuleState, evaluate_ordered, evaluate_readings
from central.telemetry.alerts.rules import BaseRule, FlowAboveRight, TotalizerDecrease
from protocols.uplink import Quality
from tests.central.alerts.support import Sample, at, compact, every_minute, samples

FLOW = FlowAboveRight(water_right_lps=12.0, hysteresis_lps=0.5)
DECREASE = TotalizerDecrease()

CASES = [
    # (rule, evaluated up to minute, readings, (action, minute) of the signals, newest evaluated minute)
    (
        "decrease at the watermark's minute counts",
        DECREASE,
        5.0,
        samples("totalizer", [(4, 120.0), (5, 100.0), (5, 90.0), (6, 91.0)]),
        [("raise", 5.0)],
        6.0,
    ),
    (
        "readings before the watermark are ignored",
        DECREASE,
        5.0,
        samples("totalizer", [(1, 100.0), (3, 50.0), (4, 40.0)]),
        [],
        5.0,
    ),
    (
        "no watermark yet: everything counts",
        FLOW,
        None,
        every_minute("flow", [15.0] * 12 + [10.0] * 6),
        [("raise", 10.0), ("hold", 11.0), ("clear", 17.0)],
        17.0,
    ),
    (
        "a crossing that starts before the watermark",
        FLOW,
        3.0,
        every_minute("flow", [15.0] * 16),
        [("raise", 13.0), ("hold", 15.0)],
        15.0,
    ),
]


def minute(ts: datetime | None) -> float | None:
    return None if ts is None else (ts - at(0)).total_seconds() / 60


@pytest.mark.parametrize(
    ("rule", "evaluated", "readings", "signals", "newest"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_the_watermark_cuts_the_same_readings_in_any_order_or_presorted(
    rule: BaseRule, evaluated: float | None, readings: list[Sample], signals: list[tuple[str, float]], newest: float
) -> None:
    state = RuleState(last_ts=None if evaluated is None else at(evaluated))
    newest_first = sorted(readings, key=lambda reading: reading.ts, reverse=True)  # ties keep their order
    shuffled = [*newest_first, Sample(at(30), readings[0].variable, None, Quality.TIMEOUT)]
    any_order, ordered = evaluate_readings(rule, state, shuffled), evaluate_ordered(rule, state, readings)
    assert (any_order, compact(ordered[1]), minute(ordered[0].last_ts)) == (ordered, signals, newest)
