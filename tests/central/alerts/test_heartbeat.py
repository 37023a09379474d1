"""Gateway rules fed by uploads and heartbeats: clock offset and buffer drops."""

from __future__ import annotations

from datetime import timedelta

import pytest

from central.telemetry.alerts import Heartbeat, RuleState, Severity, Signal, SignalAction, evaluate_heartbeat
from central.telemetry.alerts.rules import BufferDropping, ClockOffset

from .support import T0, at


def feed(rule: ClockOffset | BufferDropping, beats: list[Heartbeat]) -> list[tuple[str, float]]:
    state, out = RuleState(), []
    for beat in beats:
        state, signals = evaluate_heartbeat(rule, state, beat)
        out.extend((s.action.value, (s.ts - T0) / timedelta(minutes=1)) for s in signals)
    return out


CLOCK = ClockOffset(tolerance_s=120, hysteresis_s=30, for_minutes=0, clear_minutes=5)


@pytest.mark.parametrize(
    ("offsets", "expected"),
    [
        ([5.0, -10.0, 100.0], []),
        ([5.0, 150.0, 160.0], [("raise", 1)]),
        ([-150.0], [("raise", 0)]),
        ([150.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0], [("raise", 0)]),  # inside the hysteresis band
        ([150.0] + [80.0] * 6, [("raise", 0), ("clear", 6)]),
        ([150.0, 80.0, 80.0, 130.0, 80.0, 80.0], [("raise", 0)]),  # not back long enough
    ],
)
def test_clock_offset(offsets: list[float], expected: list[tuple[str, float]]) -> None:
    beats = [Heartbeat(ts=at(i), clock_offset_s=offset) for i, offset in enumerate(offsets)]
    assert feed(CLOCK, beats) == expected


def test_clock_offset_message_says_ahead_or_behind() -> None:
    _, signals = evaluate_heartbeat(CLOCK, RuleState(), Heartbeat(ts=at(0), clock_offset_s=-300.4))
    assert signals == [
        Signal(
            action=SignalAction.RAISE,
            ts=at(0),
            severity=Severity.WARNING,
            value=-300.4,
            message="Reloj del gateway atrasado 300 s (tolerancia 120 s)",
        )
    ]


DROPS = BufferDropping(clear_minutes=60)


@pytest.mark.parametrize(
    ("totals", "expected"),
    [
        ([(0, 0), (10, 0), (20, 0)], []),
        ([(0, 0), (10, 40)], [("raise", 10)]),
        ([(0, 12), (10, 12)], []),  # dropped long ago, before we watched
        ([(0, 0), (10, 40), (20, 90), (75, 90), (80, 90)], [("raise", 10), ("clear", 80)]),
        ([(0, 40), (10, 0), (20, 0)], []),  # agent restarted: counter rebased
    ],
)
def test_buffer_dropping(totals: list[tuple[float, int]], expected: list[tuple[str, float]]) -> None:
    beats = [Heartbeat(ts=at(minute), dropped_total=total) for minute, total in totals]
    assert feed(DROPS, beats) == expected


def test_buffer_dropping_message_counts_the_new_drops() -> None:
    state, _ = evaluate_heartbeat(DROPS, RuleState(), Heartbeat(ts=at(0), dropped_total=100))
    _, signals = evaluate_heartbeat(DROPS, state, Heartbeat(ts=at(1), dropped_total=130))
    assert signals[0].message == "El buffer del gateway descartó 30 lecturas (total descartado 130)"


def test_a_heartbeat_without_the_watched_figure_changes_nothing() -> None:
    state = RuleState(active=True, last_ts=at(0))
    assert evaluate_heartbeat(CLOCK, state, Heartbeat(ts=at(5), dropped_total=3)) == (state, [])


def test_an_older_heartbeat_is_ignored() -> None:
    state, _ = evaluate_heartbeat(CLOCK, RuleState(), Heartbeat(ts=at(10), clock_offset_s=0.0))
    assert evaluate_heartbeat(CLOCK, state, Heartbeat(ts=at(5), clock_offset_s=500.0)) == (state, [])
