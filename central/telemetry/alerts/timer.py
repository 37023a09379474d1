"""Evaluation on a timer: silence (points, gateways) and regulator submissions.

These conditions are judged against "now", not against incoming data, so they are
stateless: every tick returns the current verdict (one raise or one clear) and the
lifecycle turns a repeated raise into an update of the open alert, and a clear with no
open alert into nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from . import messages
from .state import Signal, SignalAction, SubmissionSnapshot
from .terms import Severity, Trigger

if TYPE_CHECKING:  # the rule classes name these functions as their steps
    from .rules import (
        BaseRule,
        GatewaySilent,
        PointSilent,
        Rule,
        SubmissionFailed,
        SubmissionLate,
        SubmissionUnrecoverable,
    )


def evaluate_silence(rule: BaseRule, last_seen: datetime | None, now: datetime) -> list[Signal]:
    """Raise when nothing arrived for ``rule.minutes``; clear ("back online") otherwise.

    ``last_seen`` is the server time of the newest reading (point) or upload (gateway);
    a subject never seen is not reported as silent (it was never installed).
    """
    if rule.trigger is not Trigger.SILENCE or not rule.enabled or last_seen is None:
        return []
    return [rule.step(last_seen, now)]


def silence_step(rule: PointSilent | GatewaySilent, last_seen: datetime, now: datetime) -> Signal:
    if now - last_seen >= timedelta(minutes=rule.minutes):
        return Signal(
            action=SignalAction.RAISE, ts=now, severity=rule.severity, message=messages.silent(last_seen, now)
        )
    return Signal(action=SignalAction.CLEAR, ts=now, severity=rule.severity, message=messages.back_online(last_seen))


def evaluate_submissions(rule: BaseRule, snapshots: Sequence[SubmissionSnapshot], now: datetime) -> list[Signal]:
    """Judge one point's regulator ledger summaries (one per regulator) against a submission rule."""
    if rule.trigger is not Trigger.SUBMISSIONS or not rule.enabled:
        return []
    regulator = getattr(rule, "regulator", None)
    return [rule.step([s for s in snapshots if regulator is None or s.regulator == regulator], now)]


def _clear(rule: Rule, now: datetime, message: str) -> Signal:
    return Signal(action=SignalAction.CLEAR, ts=now, severity=rule.severity, message=message)


def failed_step(rule: SubmissionFailed, snapshots: list[SubmissionSnapshot], now: datetime) -> Signal:
    failing = [(s.failing_since, s) for s in snapshots if s.failing_since is not None]
    if not failing:
        return _clear(rule, now, messages.submissions_ok())
    since, first = min(failing, key=lambda pair: pair[0])
    message = messages.submission_failing(first.spoken, since, first.last_error)
    return Signal(action=SignalAction.RAISE, ts=now, severity=rule.severity, message=message)


def unrecoverable_step(rule: SubmissionUnrecoverable, snapshots: list[SubmissionSnapshot], now: datetime) -> Signal:
    refused = [s for s in snapshots if s.unrecoverable > 0]
    if not refused:
        return _clear(rule, now, messages.submissions_resolved())
    text = "; ".join(messages.submission_refused(s.spoken, s.unrecoverable) for s in refused)
    total = sum(s.unrecoverable for s in refused)
    return Signal(action=SignalAction.RAISE, ts=now, severity=rule.severity, value=float(total), message=text)


def late_step(rule: SubmissionLate, snapshots: list[SubmissionSnapshot], now: datetime) -> Signal:
    pending = [(s.oldest_pending_due, s) for s in snapshots if s.oldest_pending_due is not None]
    if not pending:
        return _clear(rule, now, messages.submissions_on_time())
    due, oldest = min(pending, key=lambda pair: pair[0])
    hours = (now - due) / timedelta(hours=1)
    severity = escalation_severity(rule, hours)
    if severity is None:
        return _clear(rule, now, messages.submissions_on_time())
    message = messages.submission_late(oldest.spoken, due, now)
    return Signal(action=SignalAction.RAISE, ts=now, severity=severity, value=round(hours, 2), message=message)


def escalation_severity(rule: SubmissionLate, late_hours: float) -> Severity | None:
    """The severity of the last escalation step reached, or None before the first (24 h by default)."""
    reached = [step.severity for step in rule.escalation if late_hours >= step.after_hours]
    return reached[-1] if reached else None
