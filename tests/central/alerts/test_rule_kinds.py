"""A rule kind is one class: it declares what it reads, when it is judged and its step.

The toy kind below is the whole of a new kind; nothing else in the alert package is edited
for it to be evaluated.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import pytest

from central.telemetry.alerts import (
    RULE_CLASSES,
    BaseRule,
    Scope,
    Severity,
    Signal,
    SignalAction,
    Trigger,
    kinds,
)
from central.telemetry.alerts.evaluate import Step
from central.telemetry.alerts.state import Sample as StateSample
from central.telemetry.alerts.state import WorkState

from .support import at, every_minute, run, samples


class NegativeFlow(BaseRule):
    """Toy kind: a flow reading below zero (a meter wired backwards), raised at once."""

    trigger: ClassVar[Trigger] = Trigger.READING
    reads: ClassVar[frozenset[str] | None] = frozenset({"flow"})

    kind: Literal["negative_flow"] = "negative_flow"

    def step(self) -> Step:
        def step(state: WorkState, sample: StateSample) -> Signal | None:
            if sample.variable != "flow" or state.active or float(sample.value or 0) >= 0:
                return None
            state.active = True
            return Signal(
                action=SignalAction.RAISE,
                ts=sample.ts,
                severity=self.severity,
                value=sample.value,
                message="Caudal negativo",
            )

        return step


def test_a_rule_kind_declared_in_one_class_is_evaluated() -> None:
    readings = [*every_minute("flow", [1.0, 0.5]), *samples("totalizer", [(1, -3.0)]), *samples("flow", [(2, -0.4)])]
    _, signals = run(NegativeFlow(), readings)
    assert signals == [
        Signal(action=SignalAction.RAISE, ts=at(2), severity=Severity.WARNING, value=-0.4, message="Caudal negativo")
    ]


def test_a_disabled_rule_kind_of_ones_own_is_not_evaluated() -> None:
    _, signals = run(NegativeFlow(enabled=False), samples("flow", [(0, -1.0)]))
    assert signals == []


@pytest.mark.parametrize(
    ("triggers", "scope", "expected"),
    [
        (
            (Trigger.READING,),
            None,
            {
                "flow_above_right",
                "level_threshold",
                "water_table_threshold",
                "frozen_totalizer",
                "constant_value",
                "totalizer_decrease",
            },
        ),
        ((Trigger.HEARTBEAT,), None, {"clock_offset", "buffer_dropping"}),
        ((Trigger.SILENCE,), Scope.POINT, {"point_silent"}),
        ((Trigger.SILENCE,), Scope.GATEWAY, {"gateway_silent"}),
        (
            (Trigger.SUBMISSIONS, Trigger.EVENTS),
            None,
            {"submission_failed", "submission_unrecoverable", "submission_late", "compliance_event"},
        ),
    ],
)
def test_the_kinds_the_service_queries_are_derived_from_the_classes(
    triggers: tuple[Trigger, ...], scope: Scope | None, expected: set[str]
) -> None:
    assert kinds(*triggers, scope=scope) == expected


def test_every_kind_but_compliance_events_declares_its_step() -> None:
    without_step = {cls.model_fields["kind"].default for cls in RULE_CLASSES if not hasattr(cls, "step")}
    assert without_step == {"compliance_event"}
