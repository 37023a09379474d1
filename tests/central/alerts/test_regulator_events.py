"""Open compliance facts become one signal per kind (pure: the facts the timer reads by SQL).

Whether a fact still holds is compliance's judgement: tests/compliance/test_facts.py."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from central.telemetry.alerts import Severity
from central.telemetry.alerts.regulator_events import EventFacts, evaluate_events
from central.telemetry.alerts.rules import ComplianceEvent, PointSilent
from tests.central.alerts.support import T0, at


def event(kind: str, **facts: object) -> EventFacts:
    values: dict[str, object] = {
        "point_id": 1,
        "kind": kind,
        "at": T0,
        "regulator": "dga",
        "message": "detalle",
        "spoken": "la DGA",
    }
    return EventFacts(**{**values, **facts})


NOW = at(60)


def test_each_kind_raises_its_own_signal_and_a_resolved_kind_clears() -> None:
    holding = {
        "work.blocked": [event("work.blocked")],
        "submission.needs_review": [event("submission.needs_review")] * 2,
    }
    signals = evaluate_events(ComplianceEvent(), holding, {"work.blocked", "submission.check_not_found"}, NOW)
    assert {kind: (s.action.value, s.severity, s.value, s.message) for kind, s in signals.items()} == {
        "work.blocked": (
            "raise",
            Severity.CRITICAL,
            1.0,
            "Envíos a la DGA detenidos: la DGA rechazó al informante de la obra. Corrija el RUT o la"
            " clave del informante en la configuración de la obra para reanudarlos. Detalle: detalle",
        ),
        "submission.needs_review": (
            "raise",
            Severity.CRITICAL,
            2.0,
            "2 envío(s) a la DGA respondido(s) sin comprobante: búsquelos en SNIA antes de decidir. Detalle: detalle",
        ),
        "submission.check_not_found": ("clear", Severity.CRITICAL, None, "No quedan comprobantes sin confirmar"),
    }


@pytest.mark.parametrize("rule", [ComplianceEvent(enabled=False), PointSilent()])
def test_a_disabled_or_other_rule_gives_no_signals(rule: object) -> None:
    assert evaluate_events(rule, {"work.blocked": [event("work.blocked")]}, set(), NOW) == {}


@pytest.mark.parametrize(
    ("deadlines", "severity"),
    [
        ([NOW + timedelta(minutes=16)], Severity.WARNING),
        ([NOW + timedelta(minutes=15)], Severity.CRITICAL),
        ([NOW - timedelta(hours=3)], Severity.CRITICAL),  # past: late already
        ([NOW + timedelta(hours=5), NOW + timedelta(minutes=10)], Severity.CRITICAL),  # the most urgent one counts
    ],
)
def test_a_hold_is_a_warning_until_its_deadline_is_within_15_minutes(deadlines, severity):
    held = [event("submission.held", deadline=deadline) for deadline in deadlines]
    (signal,) = evaluate_events(ComplianceEvent(), {"submission.held": held}, set(), NOW).values()
    assert (signal.severity, signal.message) == (
        severity,
        f"{len(held)} medición(es) para la DGA retenida(s) por un"
        " valor imposible: apruébela(s), corríjala(s) con un motivo o"
        " descártela(s) antes del plazo de envío. Detalle: detalle",
    )
