"""When a compliance fact still needs a person (pure); the alerts read only the open facts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from compliance.facts import FactState, still_holds

T0 = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def fact(kind: str, **now: object) -> FactState:
    values: dict[str, object] = {
        "kind": kind,
        "raised_at": T0,
        "blocked": None,
        "state": None,
        "check_result": None,
        "reviewed_at": None,
        "last_attempt_at": None,
    }
    return FactState(**{**values, **now})


@pytest.mark.parametrize(
    ("facts", "holds"),
    [
        (fact("work.blocked", blocked=True, state="unrecoverable"), True),
        (fact("work.blocked", blocked=False, state="unrecoverable"), False),
        (fact("work.blocked", blocked=None), False),  # configuration deleted
        (fact("submission.needs_review", state="needs_review"), True),
        (fact("submission.needs_review", state="discarded"), False),
        (fact("submission.check_not_found", state="accepted", check_result="not_found"), True),
        (fact("submission.check_not_found", state="accepted", check_result="confirmed"), False),
        (fact("submission.check_not_found", state="accepted", check_result="not_found", reviewed_at=at(5)), False),
        (fact("submission.check_mismatch", state="accepted", check_result="mismatch"), True),
        (
            fact("submission.check_mismatch", state="accepted", check_result="person_confirmed", reviewed_at=at(5)),
            False,
        ),
        (fact("submission.error", state="pending"), True),
        (fact("submission.error", state="pending", last_attempt_at=at(10)), False),
        (fact("submission.error", state="discarded"), False),
        (fact("submission.late_reply", state="rejected", reviewed_at=at(-5)), True),
        (fact("submission.held", state="review"), True),
        (fact("submission.held", state="pending", reviewed_at=at(5)), False),  # corrected or approved
        (fact("submission.held", state="discarded"), False),
        (fact("other.kind"), True),  # about no submission: until the row's expires_at (the alert code reads it)
    ],
)
def test_a_fact_holds_while_a_person_still_has_something_to_do(facts: FactState, holds: bool) -> None:
    assert still_holds(facts) is holds
