"""What a person does about the slots the worker leaves for them (besides the validation holds).

* ``needs_review``: the DGA answered "00" without a comprobante (or "Ya existe" without a
  readable one), or an SMA send was found in flight or refused. Nobody knows for sure whether
  the regulator holds the measurement, so the worker never resends it. A person looks it up
  in SNIA and then CONFIRMS it with the comprobante found there (accepted; the GET check
  verifies that comprobante on the next pass), REQUEUES it (only after seeing that the DGA
  does NOT hold it; if it did after all, the resend gets "Ya existe" and is accepted), or
  DISCARDS it.
* an accepted slot whose GET check found nothing (``check_result`` ``not_found``) or found other
  values than those sent (``mismatch``): the slot stays accepted (it is never sent again); a
  person asks for a RECHECK (the GET is made again on the next pass) or CONFIRMS it (they saw it
  in SNIA).

Every decision is recorded on the slot (who, when, why), in the compliance log and in the audit
trail, in the caller's transaction. The alert raised for the situation clears on the timer's
next pass because the condition it watches ends (see ``central.telemetry.alerts.regulator_events``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from central.core import lookups
from central.db import Connection
from central.problems import Conflict, NotFound
from compliance import messages_es as es
from compliance.ledger import Event, EventKind, IllegalTransition, State
from compliance.submissions import SubmissionOut, decide, get_submission, record_decision

NOT_FOUND = "not_found"
MISMATCH = "mismatch"  # check_result of a slot the DGA holds with other values than those sent
UNSETTLED_CHECKS = (NOT_FOUND, MISMATCH)
PERSON_CONFIRMED = "person_confirmed"  # check_result of a slot a person saw in SNIA after the GET found nothing
_CHECK_NOT_FOUND = f" (o accepted con check_result {NOT_FOUND} o {MISMATCH})"
_REASON = Field(min_length=1, max_length=1000)


class ConfirmDecision(BaseModel):
    """The comprobante a person found in SNIA for the slot, and why they confirm it."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [{"comprobante": "9F3A61C2D4B7E0815A22", "reason": "seen in SNIA consultaQR on 2026-11-29"}]
        },
    )

    comprobante: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^\S+$",
        description="numeroComprobante (DGA) or IdVerificacion (SMA), as SNIA shows it",
    )
    reason: str = _REASON


class RequeueDecision(BaseModel):
    """Why the slot may be sent again: what the person checked in SNIA."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"examples": [{"reason": "SNIA shows no measurement for 2026-11-28 08:00; send it"}]},
    )

    reason: str = _REASON


class RecheckDecision(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"examples": [{}, {"reason": "SNIA was down this morning; ask again"}]},
    )

    reason: str | None = Field(default=None, min_length=1, max_length=1000)


class CheckReview(StrEnum):
    RECHECK = "recheck"
    CONFIRM = "confirm"


@dataclass(frozen=True)
class CheckDecision:
    """What is known about an accepted slot's comprobante after a person's decision.

    ``check_result`` None: the GET check asks the DGA again on the next worker pass.
    """

    comprobante: str
    check_result: str | None


def review_check(
    state: State, check_result: str | None, known: str | None, action: CheckReview, comprobante: str | None = None
) -> CheckDecision:
    """A person's decision about an accepted slot whose GET check found nothing (pure).

    The slot stays ``accepted``: only what is known about its comprobante changes. A confirmed
    comprobante equal to the known one ends the matter; a different one is checked by GET.
    """
    if state is not State.ACCEPTED or check_result not in UNSETTLED_CHECKS or known is None:
        raise IllegalTransition(
            f"{action.value} of a GET check needs an accepted submission whose check found"
            f" nothing, not state {state.value} with check_result {check_result}"
        )
    if action is CheckReview.RECHECK:
        return CheckDecision(known, None)
    if comprobante is None or comprobante == known:
        return CheckDecision(known, PERSON_CONFIRMED)
    return CheckDecision(comprobante, None)


def _row(conn: Connection, submission_id: int) -> dict[str, Any]:
    row = conn.fetchone(
        f"SELECT s.*, {lookups.point_code_sql('s.point_id')} AS point FROM compliance_submissions s WHERE s.id = :id",
        {"id": submission_id},
    )
    if row is None:
        raise NotFound(es.no_submission(submission_id))
    return row


def _decide_check(
    conn: Connection,
    row: dict[str, Any],
    action: CheckReview,
    comprobante: str | None,
    reason: str | None,
    actor: str,
    now: datetime,
) -> SubmissionOut:
    try:
        decided = review_check(State(row["state"]), row["check_result"], row["comprobante"], action, comprobante)
    except IllegalTransition:
        allowed = (
            f"{State.NEEDS_REVIEW.value}{_CHECK_NOT_FOUND}"
            if action is CheckReview.CONFIRM
            else (f"{State.ACCEPTED.value} con check_result {NOT_FOUND} o {MISMATCH}")
        )
        raise Conflict(es.not_allowed(row["id"], row["state"], action.value, allowed, row["check_result"])) from None
    changed = conn.execute(
        "UPDATE compliance_submissions SET comprobante = :comprobante, check_result = :result, checked_at = :checked,"
        " reviewed_by = :actor, review_reason = :reason, reviewed_at = :now, updated_at = :now"
        " WHERE id = :id AND state = 'accepted' AND check_result IN (:not_found, :mismatch)",
        {
            "comprobante": decided.comprobante,
            "result": decided.check_result,
            "actor": actor,
            "reason": reason,
            "checked": row["checked_at"] if decided.check_result else None,
            "now": now,
            "id": row["id"],
            "not_found": NOT_FOUND,
            "mismatch": MISMATCH,
        },
    )
    if changed != 1:
        raise Conflict(es.changed_meanwhile(row["id"]))
    record_decision(
        conn,
        row,
        row["point"],
        f"review.{action.value}_check",
        actor,
        reason,
        now,
        state=row["state"],
        comprobante=decided.comprobante,
        check_result=decided.check_result,
    )
    return get_submission(conn, row["id"], None)


def confirm(
    conn: Connection, submission_id: int, decision: ConfirmDecision, actor: str, now: datetime
) -> SubmissionOut:
    """The regulator holds the slot under ``decision.comprobante`` (a person saw it in SNIA)."""
    row = _row(conn, submission_id)
    if row["state"] == State.ACCEPTED.value:
        return _decide_check(conn, row, CheckReview.CONFIRM, decision.comprobante, decision.reason, actor, now)
    event = Event(EventKind.PERSON_CONFIRM, comprobante=decision.comprobante)
    return decide(
        conn,
        submission_id,
        event,
        actor,
        decision.reason,
        now,
        also_allowed=_CHECK_NOT_FOUND,
        check_result=None,
        checked_at=None,
    )


def requeue(
    conn: Connection, submission_id: int, decision: RequeueDecision, actor: str, now: datetime
) -> SubmissionOut:
    """Send the slot again on the next pass; an accepted slot never is (409)."""
    return decide(conn, submission_id, Event(EventKind.PERSON_REQUEUE), actor, decision.reason, now)


def recheck(
    conn: Connection, submission_id: int, decision: RecheckDecision, actor: str, now: datetime
) -> SubmissionOut:
    """Ask the DGA again by GET, on the next pass, for the comprobante its check did not find."""
    return _decide_check(conn, _row(conn, submission_id), CheckReview.RECHECK, None, decision.reason, actor, now)
