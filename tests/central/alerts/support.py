"""Shared helpers for the alert tests: readings at minute offsets, compact signal views."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from central.telemetry.alerts import BaseRule, RuleState, Severity, Signal, evaluate_readings
from protocols.uplink import Quality

T0 = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)


class Sample(NamedTuple):
    ts: datetime
    variable: str
    value: float | None
    quality: Quality = Quality.GOOD


def at(minute: float) -> datetime:
    return T0 + timedelta(minutes=minute)


def samples(variable: str, points: list[tuple[float, float]]) -> list[Sample]:
    """Readings of one variable given as (minute, value)."""
    return [Sample(at(minute), variable, value) for minute, value in points]


def every_minute(variable: str, values: list[float], start: float = 0) -> list[Sample]:
    return [Sample(at(start + i), variable, value) for i, value in enumerate(values)]


def compact(signals: list[Signal]) -> list[tuple[str, float]]:
    """(action, minute) of each signal: enough to compare timing tables."""
    return [(s.action.value, (s.ts - T0) / timedelta(minutes=1)) for s in signals]


def signal_rows(signals: list[Signal]) -> list[tuple[str, float, Severity, float | None, str]]:
    """(action, minute, severity, value, message) of each signal: every field, so a table of
    these rows checks the whole signal, message included."""
    return [(s.action.value, (s.ts - T0) / timedelta(minutes=1), s.severity, s.value, s.message) for s in signals]


def run(rule: BaseRule, readings: list[Sample], state: RuleState | None = None) -> tuple[RuleState, list[Signal]]:
    return evaluate_readings(rule, state or RuleState(), readings)
