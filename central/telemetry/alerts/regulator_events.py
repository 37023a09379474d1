"""Compliance facts that need a person, as alerts (read-only SQL, like :mod:`.compliance_facts`).

``compliance`` publishes the facts alerts need in its own table ``compliance_facts``
(migration 0301): an open row per event a person must act on (a work blocked by the DGA, a
slot held, a reply without comprobante, a comprobante the DGA does not show...), written in
the transaction that changed its ledger and cleared by compliance when the condition ends
(whoever ended it). ``central`` does not import that package and knows only that table's
shape: the open facts, a fact about no submission until its ``expires_at``. A
``compliance_event`` rule of a point keeps one live alert per kind (the alert's ``kind`` is
the fact's, e.g. ``work.blocked``) while at least one fact of that kind is open, and clears
it when none is.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import NamedTuple

from central.db import Connection
from central.regulators import UNNAMED, Regulators

from . import messages
from .rules import ComplianceEvent, Rule, Severity
from .state import Signal, SignalAction

FACTS = "compliance_facts"


class EventFacts(NamedTuple):
    """One open compliance fact."""

    point_id: int
    kind: str
    at: datetime
    regulator: str | None
    message: str
    deadline: datetime | None = None  # a held slot's deadline (``submission.held``)
    spoken: str = UNNAMED  # the regulator as the alert's text names it ("la DGA")


HELD = "submission.held"
HOLD_URGENT = timedelta(minutes=15)


def holding_events(
    conn: Connection, now: datetime, regulators: Regulators = Regulators()
) -> dict[int, dict[str, list[EventFacts]]]:
    """Per point, per kind: the open event facts, oldest first (``ledger.*`` facts are the
    submission rules', :mod:`.compliance_facts`)."""
    rows = conn.fetchall(
        f"SELECT point_id, kind, raised_at AS at, regulator, message, deadline FROM {FACTS}"
        " WHERE cleared_at IS NULL AND kind NOT LIKE 'ledger.%' AND (expires_at IS NULL OR expires_at > :now)"
        " ORDER BY id",
        {"now": now},
    )
    found: dict[int, dict[str, list[EventFacts]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        found[row["point_id"]][row["kind"]].append(EventFacts(**row, spoken=regulators.spoken(row["regulator"])))
    return {point: dict(kinds) for point, kinds in found.items()}


def event_severity(rule: ComplianceEvent, kind: str, events: list[EventFacts], now: datetime) -> Severity:
    """The rule's severity; for held slots a warning, critical once a deadline is within 15 minutes (or past)."""
    if kind != HELD:
        return rule.severity
    urgent = any(e.deadline is None or e.deadline - now <= HOLD_URGENT for e in events)
    return Severity.CRITICAL if urgent else Severity.WARNING


def evaluate_events(
    rule: Rule, holding: dict[str, list[EventFacts]], live_kinds: set[str], now: datetime
) -> dict[str, Signal]:
    """Per event kind: raise while its events hold, clear a live alert whose events no longer do."""
    if not isinstance(rule, ComplianceEvent) or not rule.enabled:
        return {}
    signals = {kind: _raise(rule, kind, events, now) for kind, events in holding.items()}
    for kind in live_kinds - set(holding):
        signals[kind] = Signal(
            action=SignalAction.CLEAR, ts=now, severity=rule.severity, message=messages.compliance_resolved(kind)
        )
    return signals


def _raise(rule: ComplianceEvent, kind: str, events: list[EventFacts], now: datetime) -> Signal:
    newest = events[-1]
    message = messages.compliance_event(kind, newest.spoken, len(events), newest.message)
    return Signal(
        action=SignalAction.RAISE,
        ts=now,
        severity=event_severity(rule, kind, events, now),
        value=float(len(events)),
        message=message,
    )
