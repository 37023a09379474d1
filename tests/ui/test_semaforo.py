"""The compliance semáforo of a work, from its last due DGA slot (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from compliance.semaforo import light

SLOT = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)
IN_TIME = SLOT + timedelta(minutes=30)
LATE = SLOT + timedelta(hours=1, seconds=1)


@pytest.mark.parametrize(("state", "now", "blocked", "colour", "reason"), [
    ("accepted", LATE, False, "green", "accepted"),
    ("shadowed", LATE, False, "green", "shadowed"),
    ("pending", IN_TIME, False, "yellow", "pending"),
    ("sending", IN_TIME, False, "yellow", "sending"),
    ("review", IN_TIME, False, "yellow", "review"),
    ("needs_review", IN_TIME, False, "yellow", "needs_review"),
    ("pending", SLOT + timedelta(hours=1), False, "yellow", "pending"),  # at the deadline itself: not late yet
    ("pending", LATE, False, "red", "late"),
    ("review", LATE, False, "red", "late"),
    ("discarded", LATE, False, "red", "late"),
    ("rejected", IN_TIME, False, "red", "rejected"),
    ("retry_scheduled", IN_TIME, False, "red", "retry_scheduled"),
    ("unrecoverable", IN_TIME, False, "red", "unrecoverable"),
    ("no_data", IN_TIME, False, "red", "no_data"),
    ("accepted", IN_TIME, True, "red", "blocked"),
    (None, IN_TIME, False, "yellow", "no_slot_yet"),
])
def test_the_colour_follows_the_last_due_slot(state: str | None, now: datetime, blocked: bool, colour: str,
                                              reason: str) -> None:
    assert light(state, SLOT if state else None, blocked, now)[:2] == (colour, reason)
