"""Compliance log events that need a person, as alerts (read-only SQL, like :mod:`.submissions`).

``compliance`` writes rows flagged ``alert`` into ``compliance_events`` (a work blocked by
the DGA, a reply without comprobante, a comprobante the DGA does not show...); ``central``
does not import that package, so the timer reads the table and the ledger directly
(migration 0300 creates them). A ``compliance_event`` rule of a point keeps one live
alert per event kind (the alert's ``kind`` is the event's, e.g. ``work.blocked``) while
at least one event of that kind still holds, and clears it when none does. Whether an event
still holds is judged from the state the ledger is in NOW (:func:`still_holds`), so the
alert ends when the condition ends, whoever ended it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta
from typing import NamedTuple

from central.db import Connection

from . import messages
from .rules import ComplianceEvent, Rule, Severity
from .state import Signal, SignalAction
from .submissions import LEDGER, SETTLED

EVENTS = "compliance_events"
CONFIGS = "compliance_configs"
ONE_OFF = timedelta(hours=24)  # an event about no submission (and no work block) holds this long


class EventFacts(NamedTuple):
    """One alert-flagged event with what the ledger says about it now."""

    point_id: int
    kind: str
    at: datetime
    regulator: str | None
    message: str
    blocked: bool | None  # the work's configuration for that regulator is blocked (None: none left)
    state: str | None  # the submission's state (None: the event is about no submission)
    check_result: str | None
    reviewed_at: datetime | None
    last_attempt_at: datetime | None
    deadline: datetime | None = None  # the held slot's deadline (``submission.held``), from the event's detail


HELD = "submission.held"
HOLD_URGENT = timedelta(minutes=15)


def still_holds(event: EventFacts, now: datetime) -> bool:
    """Whether a person still has something to do about ``event``.

    - ``work.blocked``: while the work's configuration stays blocked (new credentials lift it);
    - ``submission.needs_review``: while the submission is still ``needs_review``;
    - ``submission.held`` (a value that cannot be physical): while the slot is still ``review``;
    - any other event about a submission: until a person reviews the submission after the
      event; ``submission.check_not_found`` while the check result stays ``not_found``,
      ``submission.check_mismatch`` (the DGA holds other values) while it stays ``mismatch``;
      the rest (e.g. ``submission.error``, ``submission.late_reply``) until the submission
      is settled or a new send attempt starts;
    - an event about no submission: for :data:`ONE_OFF`.
    """
    if event.kind == "work.blocked":
        return bool(event.blocked)
    if event.state is None:
        return now - event.at < ONE_OFF
    if event.kind == "submission.needs_review":
        return event.state == "needs_review"
    if event.kind == HELD:
        return event.state == "review"
    if event.reviewed_at is not None and event.reviewed_at >= event.at:
        return False
    if event.kind == "submission.check_not_found":
        return event.check_result == "not_found" and event.state != "discarded"
    if event.kind == "submission.check_mismatch":
        return event.check_result == "mismatch"
    sent_again = event.last_attempt_at is not None and event.last_attempt_at > event.at
    return event.state not in SETTLED and not sent_again


def holding_events(conn: Connection, now: datetime) -> dict[int, dict[str, list[EventFacts]]]:
    """Per point, per event kind: the alert-flagged events that still hold, oldest first."""
    rows = conn.fetchall(
        "SELECT e.point_id, e.kind, e.at, e.regulator, e.message, c.blocked, s.state, s.check_result, s.reviewed_at,"
        f" s.last_attempt_at, e.detail FROM {EVENTS} e LEFT JOIN {CONFIGS} c ON c.point_id = e.point_id"
        f" AND c.regulator = e.regulator LEFT JOIN {LEDGER} s ON s.id = e.submission_id"
        " WHERE e.alert AND e.point_id IS NOT NULL ORDER BY e.id")
    found: dict[int, dict[str, list[EventFacts]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        detail = row.pop("detail")
        event = EventFacts(**row, deadline=_deadline(detail) if row["kind"] == HELD else None)
        if still_holds(event, now):
            found[event.point_id][event.kind].append(event)
    return {point: dict(kinds) for point, kinds in found.items()}


def _deadline(detail: str) -> datetime | None:
    text = json.loads(detail).get("deadline")
    return None if text is None else datetime.fromisoformat(text)


def event_severity(rule: ComplianceEvent, kind: str, events: list[EventFacts], now: datetime) -> Severity:
    """The rule's severity; for held slots a warning, critical once a deadline is within 15 minutes (or past)."""
    if kind != HELD:
        return rule.severity
    urgent = any(e.deadline is None or e.deadline - now <= HOLD_URGENT for e in events)
    return Severity.CRITICAL if urgent else Severity.WARNING


def evaluate_events(rule: Rule, holding: dict[str, list[EventFacts]], live_kinds: set[str], now: datetime
                    ) -> dict[str, Signal]:
    """Per event kind: raise while its events hold, clear a live alert whose events no longer do."""
    if not isinstance(rule, ComplianceEvent) or not rule.enabled:
        return {}
    signals = {kind: _raise(rule, kind, events, now) for kind, events in holding.items()}
    for kind in live_kinds - set(holding):
        signals[kind] = Signal(action=SignalAction.CLEAR, ts=now, severity=rule.severity,
                               message=messages.compliance_resolved(kind))
    return signals


def _raise(rule: ComplianceEvent, kind: str, events: list[EventFacts], now: datetime) -> Signal:
    newest = events[-1]
    message = messages.compliance_event(kind, newest.regulator, len(events), newest.message)
    return Signal(action=SignalAction.RAISE, ts=now, severity=event_severity(rule, kind, events, now),
                  value=float(len(events)), message=message)
