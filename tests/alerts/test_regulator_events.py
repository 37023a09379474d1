"""When a compliance event still needs a person (pure: the facts the timer reads by SQL)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from central.telemetry.alerts import Severity
from central.telemetry.alerts.regulator_events import EventFacts, evaluate_events, still_holds
from central.telemetry.alerts.rules import ComplianceEvent, PointSilent
from tests.alerts.support import T0, at


def event(kind: str, **facts: object) -> EventFacts:
    values: dict[str, object] = {"point_id": 1, "kind": kind, "at": T0, "regulator": "dga", "message": "detalle",
                                 "blocked": None, "state": None, "check_result": None, "reviewed_at": None,
                                 "last_attempt_at": None}
    return EventFacts(**{**values, **facts})


NOW = at(60)


@pytest.mark.parametrize(
    ("facts", "holds"),
    [
        (event("work.blocked", blocked=True, state="unrecoverable"), True),
        (event("work.blocked", blocked=False, state="unrecoverable"), False),
        (event("work.blocked", blocked=None), False),  # configuration deleted
        (event("submission.needs_review", state="needs_review"), True),
        (event("submission.needs_review", state="discarded"), False),
        (event("submission.check_not_found", state="accepted", check_result="not_found"), True),
        (event("submission.check_not_found", state="accepted", check_result="confirmed"), False),
        (event("submission.check_not_found", state="accepted", check_result="not_found", reviewed_at=at(5)), False),
        (event("submission.error", state="pending"), True),
        (event("submission.error", state="pending", last_attempt_at=at(10)), False),
        (event("submission.error", state="discarded"), False),
        (event("submission.late_reply", state="rejected", reviewed_at=at(-5)), True),
        (event("submission.held", state="review"), True),
        (event("submission.held", state="pending", reviewed_at=at(5)), False),  # corrected or approved
        (event("submission.held", state="discarded"), False),
        (event("other.kind"), True),
        (event("other.kind", at=NOW - timedelta(hours=24)), False),
    ],
)
def test_an_event_holds_while_a_person_still_has_something_to_do(facts: EventFacts, holds: bool) -> None:
    assert still_holds(facts, NOW) is holds


def test_each_kind_raises_its_own_signal_and_a_resolved_kind_clears() -> None:
    holding = {"work.blocked": [event("work.blocked", blocked=True)],
               "submission.needs_review": [event("submission.needs_review", state="needs_review")] * 2}
    signals = evaluate_events(ComplianceEvent(), holding, {"work.blocked", "submission.check_not_found"}, NOW)
    assert {kind: (s.action.value, s.severity, s.value, s.message) for kind, s in signals.items()} == {
        "work.blocked": ("raise", Severity.CRITICAL, 1.0,
                         "Envíos a la DGA detenidos: la DGA rechazó al informante de la obra. Corrija el RUT o la"
                         " clave del informante en la configuración de la obra para reanudarlos. Detalle: detalle"),
        "submission.needs_review": ("raise", Severity.CRITICAL, 2.0,
                                    "2 envío(s) a la DGA respondido(s) sin comprobante: búsquelos en SNIA antes de"
                                    " decidir. Detalle: detalle"),
        "submission.check_not_found": ("clear", Severity.CRITICAL, None, "No quedan comprobantes sin confirmar"),
    }


@pytest.mark.parametrize("rule", [ComplianceEvent(enabled=False), PointSilent()])
def test_a_disabled_or_other_rule_gives_no_signals(rule: object) -> None:
    assert evaluate_events(rule, {"work.blocked": [event("work.blocked", blocked=True)]}, set(), NOW) == {}


@pytest.mark.parametrize(("deadlines", "severity"), [
    ([NOW + timedelta(minutes=16)], Severity.WARNING),
    ([NOW + timedelta(minutes=15)], Severity.CRITICAL),
    ([NOW - timedelta(hours=3)], Severity.CRITICAL),  # past: late already
    ([NOW + timedelta(hours=5), NOW + timedelta(minutes=10)], Severity.CRITICAL),  # the most urgent one counts
])
def test_a_hold_is_a_warning_until_its_deadline_is_within_15_minutes(deadlines, severity):
    held = [event("submission.held", state="review", deadline=deadline) for deadline in deadlines]
    (signal,) = evaluate_events(ComplianceEvent(), {"submission.held": held}, set(), NOW).values()
    assert (signal.severity, signal.message) == (severity, f"{len(held)} medición(es) para la DGA retenida(s) por un"
                                                 " valor imposible: apruébela(s), corríjala(s) con un motivo o"
                                                 " descártela(s) antes del plazo de envío. Detalle: detalle")
