"""Alert rules, evaluation and lifecycle: pure logic, no I/O.

Ingest calls :func:`evaluate_ordered` per rule of a point, on its readings sorted and
filtered once per batch (:func:`evaluate_readings` takes them in any order), and
:func:`evaluate_heartbeat` per gateway rule; a timer calls :func:`evaluate_silence`
and :func:`evaluate_submissions`; every signal goes through :func:`apply_signals`, and
transitions whose ``notify`` is true become notifications (:func:`notice`).
"""

from __future__ import annotations

from .evaluate import evaluate_heartbeat, evaluate_ordered, evaluate_readings
from .lifecycle import (
    Alert,
    AlertEvent,
    AlertStatus,
    LifecycleError,
    Transition,
    acknowledge,
    apply_signal,
    apply_signals,
    notice,
)
from .rules import (
    RULE_ADAPTER,
    RULE_CLASSES,
    BaseRule,
    Direction,
    PointFacts,
    Rule,
    Scope,
    Severity,
    Trigger,
    default_gateway_rules,
    default_rules,
    kinds,
    parse_rule,
)
from .state import (
    Heartbeat,
    RuleState,
    Sample,
    Signal,
    SignalAction,
    SubmissionSnapshot,
)
from .timer import escalation_severity, evaluate_silence, evaluate_submissions

__all__ = [
    "RULE_ADAPTER",
    "RULE_CLASSES",
    "Alert",
    "AlertEvent",
    "AlertStatus",
    "BaseRule",
    "Direction",
    "Heartbeat",
    "LifecycleError",
    "PointFacts",
    "Rule",
    "RuleState",
    "Sample",
    "Scope",
    "Severity",
    "Signal",
    "SignalAction",
    "SubmissionSnapshot",
    "Transition",
    "Trigger",
    "acknowledge",
    "apply_signal",
    "apply_signals",
    "default_gateway_rules",
    "default_rules",
    "escalation_severity",
    "evaluate_heartbeat",
    "evaluate_ordered",
    "evaluate_readings",
    "evaluate_silence",
    "evaluate_submissions",
    "kinds",
    "notice",
    "parse_rule",
]
