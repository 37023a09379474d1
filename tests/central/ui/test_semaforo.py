"""The compliance semáforo of a work, from its last due DGA slot (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from compliance.semaforo import light

SLOT = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)
IN_TIME = SLOT + timedelta(minutes=30)
LATE = SLOT + timedelta(hours=1, seconds=1)


# Before its deadline a slot's colour follows its state alone, and the reason is the state.
IN_TIME_COLOURS = {
    "accepted": "green",
    "shadowed": "green",
    "pending": "yellow",
    "sending": "yellow",
    "review": "yellow",
    "needs_review": "yellow",
    "rejected": "red",
    "retry_scheduled": "red",
    "unrecoverable": "red",
    "no_data": "red",
}
# After it, a slot not done is late; a done one stays green, a refused one keeps its reason.
LATE_LIGHTS = {
    "accepted": ("green", "accepted"),
    "shadowed": ("green", "shadowed"),
    "pending": ("red", "late"),
    "review": ("red", "late"),
    "discarded": ("red", "late"),
    "rejected": ("red", "rejected"),
}


@pytest.mark.parametrize(("state", "colour"), IN_TIME_COLOURS.items())
def test_in_time_the_colour_follows_the_last_due_slots_state(state: str, colour: str) -> None:
    assert light(state, SLOT, False, IN_TIME)[:2] == (colour, state)


@pytest.mark.parametrize(("state", "shown"), LATE_LIGHTS.items())
def test_after_the_deadline_a_slot_not_done_is_late(state: str, shown: tuple[str, str]) -> None:
    assert light(state, SLOT, False, LATE)[:2] == shown


def test_at_the_deadline_itself_a_slot_is_not_late_yet() -> None:
    assert light("pending", SLOT, False, SLOT + timedelta(hours=1))[:2] == ("yellow", "pending")


def test_a_blocked_work_is_red_whatever_its_last_slot() -> None:
    assert light("accepted", SLOT, True, IN_TIME)[:2] == ("red", "blocked")


def test_a_work_without_a_due_slot_yet_is_yellow() -> None:
    assert light(None, None, False, IN_TIME)[:2] == ("yellow", "no_slot_yet")
