"""Alert lifecycle: one live alert per (rule, subject), acknowledge, escalate, clear."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from central.telemetry.alerts import (
    Alert,
    AlertEvent,
    AlertStatus,
    LifecycleError,
    RuleState,
    Severity,
    Signal,
    SignalAction,
    SubmissionSnapshot,
    acknowledge,
    apply_signal,
    apply_signals,
    evaluate_readings,
    evaluate_submissions,
    notice,
)
from central.telemetry.alerts.rules import FlowAboveRight, SubmissionLate

from .support import T0, at, every_minute

KEY = {"rule_id": 7, "kind": "flow_above_right", "subject": "OB-0601-444"}


def raise_(minute: float, value: float = 15.0, severity: Severity = Severity.WARNING) -> Signal:
    return Signal(action=SignalAction.RAISE, ts=at(minute), severity=severity, value=value, message=f"alto {value}")


def clear(minute: float) -> Signal:
    return Signal(action=SignalAction.CLEAR, ts=at(minute), severity=Severity.WARNING, value=9.0, message="normal")


def test_a_raise_with_no_live_alert_opens_one() -> None:
    transition = apply_signal(None, raise_(10), **KEY)
    assert transition is not None and transition.event is AlertEvent.OPENED and transition.notify
    assert transition.alert == Alert(
        id=transition.alert.id,
        rule_id=7,
        kind="flow_above_right",
        subject="OB-0601-444",
        severity=Severity.WARNING,
        status=AlertStatus.OPEN,
        message="alto 15.0",
        opened_at=at(10),
        first_value=15.0,
        last_value=15.0,
        last_seen=at(10),
    )


def test_a_raise_on_a_live_alert_updates_it_quietly() -> None:
    opened = apply_signal(None, raise_(10), **KEY).alert  # type: ignore[union-attr]
    transition = apply_signal(opened, raise_(20, 17.5), **KEY)
    assert transition is not None and (transition.event, transition.notify) == (AlertEvent.UPDATED, False)
    assert transition.alert == opened.model_copy(
        update={"last_value": 17.5, "last_seen": at(20), "message": "alto 17.5"}
    )


def test_a_raise_on_an_acknowledged_alert_keeps_it_acknowledged() -> None:
    opened = apply_signal(None, raise_(10), **KEY).alert  # type: ignore[union-attr]
    acked = acknowledge(opened, by="operadora", at=at(12), comment="revisando").alert
    updated = apply_signal(acked, raise_(30), **KEY).alert  # type: ignore[union-attr]
    assert (updated.id, updated.status, updated.acknowledged_by) == (opened.id, AlertStatus.ACKNOWLEDGED, "operadora")


def test_a_clear_closes_the_live_alert_and_notifies() -> None:
    opened = apply_signal(None, raise_(10), **KEY).alert  # type: ignore[union-attr]
    transition = apply_signal(opened, clear(40), **KEY)
    assert transition is not None and (transition.event, transition.notify) == (AlertEvent.CLEARED, True)
    assert transition.alert == opened.model_copy(
        update={"status": AlertStatus.CLEARED, "cleared_at": at(40), "clear_message": "normal"}
    )


def test_a_clear_with_no_live_alert_does_nothing() -> None:
    assert apply_signal(None, clear(5), **KEY) is None


def test_a_cleared_alert_is_not_a_live_alert() -> None:
    cleared = apply_signal(apply_signal(None, raise_(1), **KEY).alert, clear(2), **KEY).alert  # type: ignore[union-attr]
    with pytest.raises(LifecycleError, match="está cerrada"):
        apply_signal(cleared, raise_(3), **KEY)


def test_acknowledge_records_who_when_and_comment() -> None:
    opened = apply_signal(None, raise_(10), **KEY).alert  # type: ignore[union-attr]
    transition = acknowledge(opened, by="jperez", at=at(15), comment="Se llamó al operador del pozo")
    assert (transition.event, transition.notify) == (AlertEvent.ACKNOWLEDGED, False)
    assert transition.alert == opened.model_copy(
        update={
            "status": AlertStatus.ACKNOWLEDGED,
            "acknowledged_at": at(15),
            "acknowledged_by": "jperez",
            "ack_comment": "Se llamó al operador del pozo",
        }
    )


@pytest.mark.parametrize(
    ("status", "by", "error"),
    [
        (AlertStatus.CLEARED, "jperez", "se cerró"),
        (AlertStatus.ACKNOWLEDGED, "jperez", "ana ya reconoció la alerta"),
        (AlertStatus.OPEN, "  ", "quien reconoce"),
    ],
)
def test_acknowledge_refuses_what_the_lifecycle_does_not_allow(status: AlertStatus, by: str, error: str) -> None:
    alert = Alert(
        rule_id=1,
        kind="point_silent",
        subject="P",
        severity=Severity.INFO,
        message="m",
        opened_at=T0,
        last_seen=T0,
        status=status,
        acknowledged_by="ana",
        acknowledged_at=T0,
        cleared_at=T0,
    )
    with pytest.raises(LifecycleError, match=error):
        acknowledge(alert, by=by, at=at(1))


def test_a_storm_of_readings_is_one_alert_and_one_notification() -> None:
    rule = FlowAboveRight(water_right_lps=12.0)
    state, live, notified = RuleState(), None, []
    readings = every_minute("flow", [20.0] * 1000)
    for start in range(0, 1000, 50):
        state, signals = evaluate_readings(rule, state, readings[start : start + 50])
        for transition in apply_signals(live, signals, **KEY):
            live = transition.alert
            notified += [transition] if transition.notify else []
    assert [t.event for t in notified] == [AlertEvent.OPENED]


def test_late_submission_escalates_the_open_alert() -> None:
    rule, due, live, events = SubmissionLate(), T0, None, []
    for hours in range(0, 100, 6):
        now = due + timedelta(hours=hours)
        signals = evaluate_submissions(
            rule, [SubmissionSnapshot(regulator="dga", spoken="la DGA", oldest_pending_due=due)], now
        )
        for transition in apply_signals(live, signals, rule_id=3, kind="submission_late", subject="OB-1"):
            live = transition.alert
            if transition.notify:
                events.append((transition.event, transition.alert.severity, hours))
    assert events == [
        (AlertEvent.OPENED, Severity.INFO, 24),
        (AlertEvent.ESCALATED, Severity.WARNING, 48),
        (AlertEvent.ESCALATED, Severity.CRITICAL, 72),
    ]
    assert live is not None and live.opened_at == due + timedelta(hours=24)


def test_a_clear_then_raise_in_one_batch_closes_one_alert_and_opens_another() -> None:
    transitions = apply_signals(None, [raise_(1), clear(2), raise_(3)], **KEY)
    assert [t.event for t in transitions] == [AlertEvent.OPENED, AlertEvent.CLEARED, AlertEvent.OPENED]
    assert transitions[0].alert.id == transitions[1].alert.id != transitions[2].alert.id


def test_the_notice_names_subject_severity_and_message() -> None:
    opened = apply_signal(None, raise_(10, 15.2, Severity.CRITICAL), **KEY)
    assert notice(opened) == (  # type: ignore[arg-type]
        "[Caudal] Alerta crítica: OB-0601-444",
        "alto 15.2\n\nPunto o gateway: OB-0601-444\nSeveridad: Crítica\nAbierta: 2026-11-28 13:10 UTC",
    )


def test_the_clear_notice_says_normalised_with_who_acknowledged() -> None:
    opened = apply_signal(None, raise_(10), **KEY).alert  # type: ignore[union-attr]
    acked = acknowledge(opened, by="ana", at=at(11), comment="visto").alert
    cleared = apply_signal(acked, clear(40), **KEY)
    assert notice(cleared) == (  # type: ignore[arg-type]
        "[Caudal] Normalizado advertencia: OB-0601-444",
        "normal\n\nPunto o gateway: OB-0601-444\nSeveridad: Advertencia\nAbierta: 2026-11-28 13:10 UTC\n"
        "Cerrada: 2026-11-28 13:40 UTC\nReconocida por ana: visto",
    )


steps = st.lists(
    st.one_of(
        st.tuples(st.just("raise"), st.sampled_from(list(Severity))),
        st.tuples(st.just("clear"), st.just(Severity.INFO)),
        st.tuples(st.just("ack"), st.just(Severity.INFO)),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(steps=steps)
def test_random_signals_never_make_two_live_alerts_for_one_rule_and_subject(steps: list[tuple[str, Severity]]) -> None:
    store: dict[object, Alert] = {}  # what the db would hold, by alert id
    for minute, (action, severity) in enumerate(steps):
        live = [a for a in store.values() if a.live]
        assert len(live) <= 1
        current = live[0] if live else None
        if action == "ack":
            if current is not None and current.status is AlertStatus.OPEN:
                store[current.id] = acknowledge(current, by="op", at=at(minute)).alert
            continue
        signal = raise_(minute, severity=severity) if action == "raise" else clear(minute)
        for transition in apply_signals(current, [signal], **KEY):
            store[transition.alert.id] = transition.alert
    assert sum(a.live for a in store.values()) <= 1


@settings(max_examples=200, deadline=None)
@given(
    flows=st.lists(st.floats(min_value=10.0, max_value=14.0), min_size=1, max_size=300),
    batch=st.integers(min_value=1, max_value=50),
)
def test_random_flows_raise_and_clear_in_strict_alternation(flows: list[float], batch: int) -> None:
    rule = FlowAboveRight(water_right_lps=12.0, for_minutes=3, clear_minutes=2, hysteresis_lps=0.5)
    readings, state, actions = every_minute("flow", flows), RuleState(), []
    for start in range(0, len(readings), batch):
        state, signals = evaluate_readings(rule, state, readings[start : start + batch])
        actions += [s.action for s in signals if s.action is not SignalAction.HOLD]
    expected = [SignalAction.RAISE, SignalAction.CLEAR] * len(actions)
    assert actions == expected[: len(actions)]
    assert state.active == (len(actions) % 2 == 1)
