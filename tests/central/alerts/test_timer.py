"""Timer rules: silence of points and gateways, regulator submissions (escalating lateness)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from central.telemetry.alerts import (
    Severity,
    Signal,
    SignalAction,
    SubmissionSnapshot,
    evaluate_silence,
    evaluate_submissions,
)
from central.telemetry.alerts.rules import (
    FlowAboveRight,
    GatewaySilent,
    PointSilent,
    SubmissionFailed,
    SubmissionLate,
    SubmissionUnrecoverable,
)

from .support import T0, at

RAISE, CLEAR = SignalAction.RAISE, SignalAction.CLEAR


@pytest.mark.parametrize(
    ("rule", "silent_minutes", "expected"),
    [
        (PointSilent(minutes=30), 29.9, CLEAR),
        (PointSilent(minutes=30), 30, RAISE),
        (PointSilent(minutes=30), 600, RAISE),
        (GatewaySilent(minutes=15), 14, CLEAR),
        (GatewaySilent(minutes=15), 16, RAISE),
    ],
)
def test_silence_raises_after_n_minutes_and_clears_when_data_returns(
    rule: PointSilent, silent_minutes: float, expected: SignalAction
) -> None:
    now = at(silent_minutes)
    assert [s.action for s in evaluate_silence(rule, T0, now)] == [expected]


def test_silence_messages_say_since_when() -> None:
    rule = PointSilent(minutes=30)
    assert evaluate_silence(rule, T0, at(45)) == [
        Signal(
            action=RAISE,
            ts=at(45),
            severity=Severity.WARNING,
            message="Sin datos hace 45 min (último dato 2026-11-28 13:00 UTC)",
        )
    ]
    assert evaluate_silence(rule, at(44), at(45))[0].message == "Vuelve a transmitir (último dato 2026-11-28 13:44 UTC)"


@pytest.mark.parametrize(
    ("rule", "last_seen"),
    [(PointSilent(), None), (PointSilent(enabled=False), T0), (FlowAboveRight(water_right_lps=1), T0)],
)
def test_silence_says_nothing_for_unseen_subjects_disabled_or_other_rules(rule: object, last_seen: object) -> None:
    assert evaluate_silence(rule, last_seen, at(600)) == []  # type: ignore[arg-type]


def late_by(hours: float, regulator: str = "dga") -> SubmissionSnapshot:
    return SubmissionSnapshot(
        regulator=regulator, spoken=f"la {regulator.upper()}", oldest_pending_due=T0 - timedelta(hours=hours)
    )


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        (0, (CLEAR, Severity.INFO)),
        (23.9, (CLEAR, Severity.INFO)),
        (24, (RAISE, Severity.INFO)),
        (47, (RAISE, Severity.INFO)),
        (48, (RAISE, Severity.WARNING)),
        (71.5, (RAISE, Severity.WARNING)),
        (72, (RAISE, Severity.CRITICAL)),
        (500, (RAISE, Severity.CRITICAL)),
    ],
)
def test_late_submissions_escalate_at_24_48_72_hours(hours: float, expected: tuple[SignalAction, Severity]) -> None:
    rule = SubmissionLate(severity=Severity.INFO)
    [signal] = evaluate_submissions(rule, [late_by(hours)], T0)
    assert (signal.action, signal.severity) == expected


def test_the_oldest_late_submission_of_the_watched_regulators_counts() -> None:
    snapshots = [late_by(30, "dga"), late_by(80, "sma")]
    [any_regulator] = evaluate_submissions(SubmissionLate(), snapshots, T0)
    [dga_only] = evaluate_submissions(SubmissionLate(regulator="dga"), snapshots, T0)
    assert any_regulator == Signal(
        action=RAISE,
        ts=T0,
        severity=Severity.CRITICAL,
        value=80.0,
        message="Envío a la SMA atrasado 80 h (pendiente desde 2026-11-25 05:00 UTC)",
    )
    assert (dga_only.severity, dga_only.value) == (Severity.INFO, 30.0)


def test_no_pending_submission_clears_lateness() -> None:
    [signal] = evaluate_submissions(SubmissionLate(), [SubmissionSnapshot(regulator="dga", spoken="la DGA")], T0)
    assert (signal.action, signal.message) == (CLEAR, "Los envíos al regulador están al día")


@pytest.mark.parametrize(
    ("snapshots", "expected"),
    [
        (
            [SubmissionSnapshot(regulator="dga", spoken="la DGA")],
            (CLEAR, "Los envíos al regulador vuelven a funcionar"),
        ),
        (
            [
                SubmissionSnapshot(
                    regulator="dga", spoken="la DGA", failing_since=at(-90), last_error="HTTP 503 del servidor"
                )
            ],
            (RAISE, "Los envíos a la DGA fallan desde 2026-11-28 11:30 UTC: HTTP 503 del servidor"),
        ),
        (
            [
                SubmissionSnapshot(regulator="sma", spoken="la SMA", failing_since=at(-5)),
                SubmissionSnapshot(regulator="dga", spoken="la DGA", failing_since=at(-50), last_error=None),
            ],
            (RAISE, "Los envíos a la DGA fallan desde 2026-11-28 12:10 UTC"),
        ),
    ],
)
def test_failed_submissions(snapshots: list[SubmissionSnapshot], expected: tuple[SignalAction, str]) -> None:
    [signal] = evaluate_submissions(SubmissionFailed(), snapshots, T0)
    assert (signal.action, signal.message) == expected


@pytest.mark.parametrize(
    ("snapshots", "expected"),
    [
        ([SubmissionSnapshot(regulator="dga", spoken="la DGA")], (CLEAR, "No quedan envíos rechazados sin resolver")),
        (
            [
                SubmissionSnapshot(regulator="dga", spoken="la DGA", unrecoverable=2),
                SubmissionSnapshot(regulator="sma", spoken="la SMA", unrecoverable=1),
            ],
            (
                RAISE,
                "2 envío(s) a la DGA rechazado(s) sin posibilidad de reintento; "
                "1 envío(s) a la SMA rechazado(s) sin posibilidad de reintento",
            ),
        ),
    ],
)
def test_unrecoverable_submissions(snapshots: list[SubmissionSnapshot], expected: tuple[SignalAction, str]) -> None:
    [signal] = evaluate_submissions(SubmissionUnrecoverable(), snapshots, T0)
    assert (signal.action, signal.message) == expected


def test_submission_rules_ignore_disabled_and_other_rules() -> None:
    snapshots = [late_by(100)]
    assert evaluate_submissions(SubmissionLate(enabled=False), snapshots, T0) == []
    assert evaluate_submissions(PointSilent(), snapshots, T0) == []
