"""Threshold rules fed at ingest: flow over the water right, level and water table."""

from __future__ import annotations

import pytest

from central.telemetry.alerts import RuleState, Severity, SignalAction
from central.telemetry.alerts.rules import Direction, FlowAboveRight, LevelThreshold, WaterTableThreshold
from protocols.uplink import Quality

from .support import Sample, at, compact, every_minute, run, samples, signal_rows

RIGHT = FlowAboveRight(water_right_lps=12.0, for_minutes=10, clear_minutes=5, hysteresis_lps=0.6)


@pytest.mark.parametrize(
    ("flows", "expected"),
    [
        ([11.0] * 30, []),
        ([15.2] * 10, []),  # over for 9 minutes of reading time: not yet
        ([15.2] * 11, [("raise", 10)]),
        ([15.2] * 8 + [11.0] + [15.2] * 11, [("raise", 19)]),  # a dip restarts the wait
        ([15.2] * 11 + [11.0] * 6, [("raise", 10), ("clear", 16)]),
        ([15.2] * 11 + [11.0] * 5, [("raise", 10)]),  # back for 4 minutes: not yet cleared
        ([15.2] * 11 + [11.8] * 30, [("raise", 10)]),  # inside the hysteresis band: stays raised
        ([12.0] * 30, []),  # exactly at the right is not over it
    ],
)
def test_flow_above_the_right_raises_after_n_minutes_and_clears_after_m(
    flows: list[float], expected: list[tuple[str, float]]
) -> None:
    _, signals = run(RIGHT, every_minute("flow", flows))
    assert compact(signals) == expected


@pytest.mark.parametrize(
    ("rule", "flows", "expected"),
    [
        pytest.param(
            FlowAboveRight(water_right_lps=12.0),
            [15.2] * 11,
            [("raise", 10, Severity.CRITICAL, 15.2, "Caudal 15.2 L/s sobre el derecho 12.0 L/s × 1.0 durante 10 min")],
            id="raise-says-value-right-tolerance-and-duration",
        ),
        pytest.param(
            FlowAboveRight(water_right_lps=12.0, tolerance=1.1, for_minutes=0, clear_minutes=0),
            [14.0, 9.5],
            [
                ("raise", 0, Severity.CRITICAL, 14.0, "Caudal 14.0 L/s sobre el derecho 12.0 L/s × 1.1"),
                ("clear", 1, Severity.CRITICAL, 9.5, "Caudal 9.5 L/s de nuevo dentro del derecho 12.0 L/s × 1.1"),
            ],
            id="clear-says-the-flow-is-back-within-the-right",
        ),
    ],
)
def test_the_signals_say_value_right_tolerance_and_duration(
    rule: FlowAboveRight, flows: list[float], expected: list[tuple[str, float, Severity, float, str]]
) -> None:
    _, signals = run(rule, every_minute("flow", flows))
    assert signal_rows(signals) == expected


def test_tolerance_multiplies_the_right() -> None:
    rule = FlowAboveRight(water_right_lps=10.0, tolerance=1.2, for_minutes=0)
    _, signals = run(rule, every_minute("flow", [11.9, 12.0, 12.1]))
    assert compact(signals) == [("raise", 2)]


def test_a_thousand_readings_over_the_right_raise_exactly_once_and_hold_with_the_newest() -> None:
    state, signals = run(RIGHT, every_minute("flow", [20.0] * 1000))
    assert compact(signals) == [("raise", 10), ("hold", 999)]
    assert state.active


def test_a_thousand_readings_in_many_batches_raise_exactly_once_and_hold_once_per_batch() -> None:
    readings = every_minute("flow", [20.0] * 1000)
    state, raised = RuleState(), []
    for start in range(0, 1000, 37):
        state, signals = run(RIGHT, readings[start : start + 37], state)
        raised.extend(signals)
    assert compact(raised) == [("raise", 10), ("hold", 36)] + [
        ("hold", float(min(end, 1000) - 1)) for end in range(74, 1037, 37)
    ]


def test_a_held_threshold_carries_the_newest_value_beyond_it() -> None:
    _, signals = run(RIGHT, every_minute("flow", [20.0] * 12 + [18.0, 13.0, 19.5, 5.0]))
    assert [(s.action.value, s.value) for s in signals] == [("raise", 20.0), ("hold", 19.5)]


def test_a_flow_hovering_at_the_right_raises_once_and_clears_once() -> None:
    rule = FlowAboveRight(water_right_lps=12.0, for_minutes=2, clear_minutes=2, hysteresis_lps=0.5)
    hovering = [12.05, 11.95, 12.1, 11.9, 12.02] * 40  # never 2 minutes on one side
    steady_over = [12.3] * 5
    hover_over = [12.3, 11.7, 12.2, 11.6, 12.4] * 40  # dips inside the band and just below it
    back = [11.0] * 5
    _, signals = run(rule, every_minute("flow", hovering + steady_over + hover_over + back))
    assert [s.action for s in signals if s.action is not SignalAction.HOLD] == [SignalAction.RAISE, SignalAction.CLEAR]


@pytest.mark.parametrize(
    ("rule", "variable", "values", "expected"),
    [
        (
            LevelThreshold(direction=Direction.BELOW, value=2.0, hysteresis=0.2, for_minutes=2, clear_minutes=0),
            "level",
            [2.5, 1.9, 1.8, 1.7, 2.1, 2.2],
            [("raise", 3), ("clear", 5)],
        ),
        (
            LevelThreshold(direction=Direction.ABOVE, value=5.0, hysteresis=0.5, for_minutes=0, clear_minutes=0),
            "level",
            [4.0, 5.1, 4.8, 5.3, 4.5],
            [("raise", 1), ("clear", 4)],
        ),
        (
            WaterTableThreshold(direction=Direction.ABOVE, value=72.0, hysteresis=0.5, for_minutes=1, clear_minutes=1),
            "water_table",
            [70.0, 72.5, 73.0, 71.8, 71.4, 71.3],
            [("raise", 2), ("clear", 5)],
        ),
        (WaterTableThreshold(value=72.0, for_minutes=0), "level", [80.0, 90.0], []),  # another variable
    ],
)
def test_level_and_water_table_thresholds(
    rule: LevelThreshold, variable: str, values: list[float], expected: list[tuple[str, float]]
) -> None:
    _, signals = run(rule, every_minute(variable, values))
    assert compact([s for s in signals if s.action is not SignalAction.HOLD]) == expected


def test_the_level_message_names_variable_relation_and_threshold() -> None:
    rule = LevelThreshold(direction=Direction.BELOW, value=3.5, for_minutes=5)
    _, signals = run(rule, every_minute("level", [3.2] * 6))
    assert signals[0].message == "Nivel 3.20 m menor que el umbral 3.50 m durante 5 min"


def test_readings_without_a_value_neither_raise_nor_clear() -> None:
    rule = FlowAboveRight(water_right_lps=12.0, for_minutes=0, clear_minutes=0)
    state, _ = run(rule, every_minute("flow", [15.0]))
    gaps = [Sample(at(i), "flow", None, Quality.TIMEOUT) for i in range(1, 30)]
    after, signals = run(rule, gaps, state)
    assert (signals, after.active) == ([], True)


def test_readings_arrive_in_any_order_and_are_judged_by_their_timestamps() -> None:
    readings = every_minute("flow", [15.0] * 11)
    _, signals = run(RIGHT, list(reversed(readings)))
    assert compact(signals) == [("raise", 10)]


def test_readings_older_than_the_last_evaluated_are_ignored() -> None:
    state, _ = run(RIGHT, samples("flow", [(60, 11.0)]))
    later, signals = run(RIGHT, every_minute("flow", [20.0] * 30), state)
    assert (signals, later.last_ts) == ([], at(60))


def test_a_disabled_rule_signals_nothing_and_forgets_its_state() -> None:
    state, _ = run(RIGHT, every_minute("flow", [20.0] * 20))
    after, signals = run(RIGHT.model_copy(update={"enabled": False}), every_minute("flow", [20.0] * 5, 30), state)
    assert (after, signals) == (RuleState(), [])


def test_evaluation_does_not_change_the_state_it_was_given() -> None:
    state = RuleState()
    run(RIGHT, every_minute("flow", [20.0] * 20), state)
    assert state == RuleState()


def test_the_state_is_small_json() -> None:
    state, _ = run(RIGHT, every_minute("flow", [20.0] * 1000))
    text = state.model_dump_json(exclude_defaults=True)
    assert RuleState.model_validate_json(text) == state
    assert text == '{"active":true,"last_ts":"2026-11-29T05:39:00Z"}'
