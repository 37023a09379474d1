"""The words rules, evaluation and alerts share: severity, direction, scope and trigger.

Kept apart from :mod:`.rules` so the evaluation modules a rule kind names as its step can
use them without importing the rule classes back.
"""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Order for "at least this severe" filters and escalation."""
        return _RANKS[self]


_RANKS = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class Direction(StrEnum):
    ABOVE = "above"
    BELOW = "below"


class Scope(StrEnum):
    """What a rule watches: a point's data or a gateway's heartbeats."""

    POINT = "point"
    GATEWAY = "gateway"


class Trigger(StrEnum):
    """When a rule kind is judged, and so what its ``step`` is given.

    ``READING`` rules run at ingest on each reading (``step() -> Step``); every other
    trigger runs on the telemetry timer: ``HEARTBEAT`` on a gateway's last upload
    (``step(state, heartbeat)``), ``SILENCE`` on when a subject was last heard from
    (``step(last_seen, now)``), ``SUBMISSIONS`` on the regulator ledger
    (``step(snapshots, now)``) and ``EVENTS`` on compliance events that need a person.
    """

    READING = "reading"
    HEARTBEAT = "heartbeat"
    SILENCE = "silence"
    SUBMISSIONS = "submissions"
    EVENTS = "events"
