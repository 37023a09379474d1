"""Data that looks wrong: a frozen totalizer, a constant value, a totalizer going backwards."""

from __future__ import annotations

import pytest

from central.telemetry.alerts import Severity
from central.telemetry.alerts.rules import ConstantValue, FrozenTotalizer, TotalizerDecrease

from .support import Sample, compact, every_minute, run, samples, signal_rows

FROZEN = FrozenTotalizer(flow_cutoff_lps=0.5, for_minutes=30)


def flow_and_totalizer(rows: list[tuple[float, float, float]]) -> list[Sample]:
    """(minute, flow, totalizer) rows as two readings each."""
    return [
        r
        for minute, flow, total in rows
        for r in samples("flow", [(minute, flow)]) + samples("totalizer", [(minute, total)])
    ]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([(m, 5.0, 100.0 + m * 0.3) for m in range(0, 120, 5)], []),  # counting: fine
        ([(m, 5.0, 100.0) for m in range(0, 35, 5)], [("raise", 30)]),  # flowing, not counting
        ([(m, 0.2, 100.0) for m in range(0, 120, 5)], []),  # below the cut-off: nothing to count
        ([(m, 5.0 if m >= 60 else 0.0, 100.0) for m in range(0, 95, 5)], [("raise", 90)]),  # since the flow started
        ([(m, 5.0, 100.0) for m in range(0, 35, 5)] + [(40, 5.0, 100.4)], [("raise", 30), ("clear", 40)]),
        ([(m, 5.0 if m % 20 else 0.0, 100.0) for m in range(0, 120, 5)], []),  # flow keeps dropping to zero
    ],
)
def test_frozen_totalizer(rows: list[tuple[float, float, float]], expected: list[tuple[str, float]]) -> None:
    _, signals = run(FROZEN, flow_and_totalizer(rows))
    assert compact(signals) == expected


def test_frozen_totalizer_message() -> None:
    _, signals = run(FROZEN, flow_and_totalizer([(m, 5.0, 1234.5) for m in range(0, 35, 5)]))
    stopped = "Totalizador detenido en 1234.500 m³ con caudal sobre el corte 0.5 L/s durante 30 min"
    assert signal_rows(signals) == [("raise", 30, Severity.WARNING, 1234.5, stopped)]


CONSTANT = ConstantValue(hours=2)


@pytest.mark.parametrize(
    ("readings", "expected"),
    [
        (every_minute("level", [3.21] * 121), [("raise", 120)]),
        (every_minute("level", [3.21] * 120), []),
        (every_minute("level", [3.21, 3.22] * 200), []),
        (every_minute("flow", [0.0] * 300), []),  # a stopped pump: zero is ignored
        (every_minute("totalizer", [500.0] * 300), []),  # excluded by default
        (every_minute("level", [3.21] * 121 + [3.3]), [("raise", 120), ("clear", 121)]),
        (every_minute("level", [3.21] * 121) + every_minute("ph", [7.0] * 200), [("raise", 120)]),
    ],
)
def test_constant_value(readings: list[Sample], expected: list[tuple[str, float]]) -> None:
    _, signals = run(CONSTANT, readings)
    assert compact(signals) == expected


def test_constant_value_clears_only_when_every_stuck_variable_moves() -> None:
    stuck = every_minute("level", [3.21] * 121) + every_minute("ph", [7.0] * 121)
    moving = samples("level", [(130, 3.3)]) + samples("ph", [(140, 7.1)])
    _, signals = run(CONSTANT, stuck + moving)
    assert compact(signals) == [("raise", 120), ("clear", 140)]
    assert signals[0].message == "Valor constante durante 2 h: Nivel"


def test_constant_value_watches_only_the_listed_variables() -> None:
    rule = ConstantValue(hours=1, variables=["ph"], ignore_zero=False)
    readings = every_minute("level", [3.0] * 100) + every_minute("ph", [0.0] * 61)
    _, signals = run(rule, readings)
    assert compact(signals) == [("raise", 60)]


DECREASE = TotalizerDecrease(clear_minutes=60)


@pytest.mark.parametrize(
    ("points", "expected"),
    [
        ([(0, 100.0), (10, 101.0), (20, 102.0)], []),
        ([(0, 100.0), (10, 101.0), (20, 0.5)], [("raise", 20)]),  # meter reset
        ([(0, 100.0), (10, 99.9995)], []),  # within min_decrease: float noise
        ([(0, 100.0), (10, 0.5), (30, 1.0), (70, 2.0)], [("raise", 10), ("clear", 70)]),
        (
            [(0, 100.0), (10, 90.0), (20, 95.0), (50, 80.0), (100, 81.0), (110, 82.0)],
            [("raise", 10), ("clear", 110)],
        ),  # net mode: each decrease restarts the quiet hour
    ],
)
def test_totalizer_decrease(points: list[tuple[float, float]], expected: list[tuple[str, float]]) -> None:
    _, signals = run(DECREASE, samples("totalizer", points))
    assert compact(signals) == expected


def test_totalizer_decrease_message() -> None:
    _, signals = run(DECREASE, samples("totalizer", [(0, 5123.25), (1, 0.75)]))
    assert signals[0].message == "Totalizador bajó de 5123.250 a 0.750 m³ (reinicio, cambio de medidor o modo neto)"
