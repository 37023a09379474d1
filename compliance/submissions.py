"""The ledger as people see it: submissions with their attempts, and the review queue.

A declared value cannot be withdrawn from the DGA, so a slot that failed validation waits
here until a person approves it (optionally with corrected values and the reason for them)
or discards it; who decided and why is recorded with the slot, in the compliance log and in
the audit trail, in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from central.core import lookups
from central.core.audit import store as audit
from central.db import Connection
from central.pagination import Page, PageQuery, fetch_page
from central.problems import Conflict, NotFound
from compliance import messages_es as es
from compliance.events import record_event
from compliance.facts import settle
from compliance.ledger import Event, EventKind, IllegalTransition, State, transition
from compliance.ledger_store import StaleSubmission, move, submission
from compliance.registry import regulator_named


class AttemptOut(BaseModel):
    id: int
    kind: str = Field(description="send or check")
    started_at: datetime
    finished_at: datetime | None
    request: dict[str, Any] = Field(description="As sent, with the password replaced by ***")
    http_status: int | None
    regulator_status: str | None
    message: str | None
    comprobante: str | None
    outcome: str | None
    duration_s: float | None
    error: str | None


class SubmissionOut(BaseModel):
    id: int
    point: str
    regulator: str
    slot: datetime
    mode: str
    state: str
    values: dict[str, Any] | None = Field(description="Computed values (decimal text)")
    corrected_values: dict[str, str] | None
    measurement: Any | None = Field(description="The formatted strings sent (or to be sent)")
    reasons: list[str]
    next_attempt_at: datetime | None
    comprobante: str | None = Field(description="DGA numeroComprobante or SMA IdVerificacion")
    note: str
    attempt_count: int
    accepted_at: datetime | None
    check_result: str | None = Field(
        description="The DGA GET check of an accepted comprobante: confirmed,"
        " mismatch (held with other values than sent), not_found, unknown (asked"
        " again), person_confirmed (seen in SNIA by a person)"
    )
    reviewed_by: str | None
    review_reason: str | None
    reviewed_at: datetime | None
    attempts: list[AttemptOut] = []


class ValueCorrection(BaseModel):
    """Values a person declares instead of the computed ones (DGA units: L/s, m3, m, cm)."""

    model_config = ConfigDict(extra="forbid")

    caudal: Decimal | None = None
    totalizador: Decimal | None = None
    nivel_freatico: Decimal | None = None
    altura_limnimetrica_cm: Decimal | None = None


def body_config(*examples: dict[str, Any]) -> ConfigDict:
    """A request body's model config: an unknown field is refused (a misspelt correction must not be
    dropped silently), and ``examples`` show in the API reference."""
    return ConfigDict(extra="forbid", json_schema_extra={"examples": list(examples)})


class ReviewApproval(BaseModel):
    model_config = body_config(
        {}, {"values": {"caudal": "11.80"}, "reason": "flowmeter spike during maintenance; value from the log book"}
    )

    values: ValueCorrection | None = None
    reason: str | None = Field(default=None, max_length=1000, description="Required when correcting values")

    @model_validator(mode="after")
    def _reason_for_corrections(self) -> ReviewApproval:
        corrected = self.values is not None and self.values.model_dump(exclude_none=True)
        if corrected and not (self.reason and self.reason.strip()):
            raise ValueError("reason es obligatorio cuando se corrigen los valores")
        return self


class Correction(BaseModel):
    """Values a person declares instead of measured, plausible ones: always with the reason (both are
    recorded, and shown as a correction in the ledger and the reports)."""

    model_config = body_config(
        {"values": {"totalizador": "154320"}, "reason": "meter replaced at 10:40; reading from the new meter's log"}
    )

    values: ValueCorrection
    reason: str = Field(min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _some_value(self) -> Correction:
        if not self.values.model_dump(exclude_none=True):
            raise ValueError("values: give at least one corrected value")
        if not self.reason.strip():
            raise ValueError("reason: required")
        return self


class ReviewDiscard(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000)


_SELECT = f"SELECT s.*, {lookups.point_code_sql('s.point_id')} AS point FROM compliance_submissions s"


def _out(row: dict[str, Any], attempts: list[AttemptOut]) -> SubmissionOut:
    loads = lambda text: None if text is None else json.loads(text)  # noqa: E731
    return SubmissionOut(
        **{
            **row,
            "values": loads(row["values_json"]),
            "corrected_values": loads(row["corrected_values"]),
            "measurement": loads(row["measurement"]),
            "reasons": json.loads(row["reasons"]),
            "attempts": attempts,
        }
    )


def _attempts(conn: Connection, ids: list[int]) -> dict[int, list[AttemptOut]]:
    found: dict[int, list[AttemptOut]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = conn.fetchall(
        f"SELECT * FROM compliance_attempts WHERE submission_id IN ({', '.join(map(str, ids))}) ORDER BY id"
    )
    for row in rows:
        found[row["submission_id"]].append(AttemptOut(**{**row, "request": json.loads(row["request"])}))
    return found


def _where(point_ids: Collection[int] | None, filters: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    clauses, params = [], {}
    if point_ids is not None:
        clauses.append(f"s.point_id IN ({', '.join(str(int(i)) for i in sorted(point_ids) or [-1])})")
    tests = {
        "point": f"s.point_id = {lookups.point_id_sql(':point')}",
        "state": "s.state = :state",
        "regulator": "s.regulator = :regulator",
        "slot_from": "s.slot >= :slot_from",
        "slot_to": "s.slot < :slot_to",
        "check_result": "s.check_result = :check_result",
    }
    for name, value in filters.items():
        if value is None:
            continue
        if name == "states":
            names = [f"state_{i}" for i in range(len(value))]
            clauses.append(f"s.state IN ({', '.join(':' + n for n in names)})")
            params.update(zip(names, value, strict=True))
        else:
            clauses.append(tests[name])
            params[name] = value
    return (f" WHERE {' AND '.join(clauses)}" if clauses else ""), params


def list_submissions(
    conn: Connection, paging: PageQuery, point_ids: Collection[int] | None, **filters: Any
) -> Page[SubmissionOut]:
    """Slots (newest first) with every attempt; ``filters``: point, state, states (any of several), regulator,
    slot_from, slot_to, check_result."""
    where, params = _where(point_ids, filters)
    page = fetch_page(conn, f"{_SELECT}{where} ORDER BY s.slot DESC, s.id DESC", params, paging, lambda row: row)
    attempts = _attempts(conn, [row["id"] for row in page.items])
    return Page(
        items=[_out(row, attempts[row["id"]]) for row in page.items],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )


def get_submission(conn: Connection, submission_id: int, point_ids: Collection[int] | None) -> SubmissionOut:
    row = conn.fetchone(f"{_SELECT} WHERE s.id = :id", {"id": submission_id})
    if row is None or (point_ids is not None and row["point_id"] not in point_ids):
        raise NotFound(es.no_submission(submission_id))
    return _out(row, _attempts(conn, [row["id"]])[row["id"]])


def _corrected(conn: Connection, row: dict[str, Any], correction: ValueCorrection) -> dict[str, str]:
    """The corrections as text, after the slot's regulator checked it can write the slot with them."""
    changes = {name: str(value) for name, value in correction.model_dump(exclude_none=True).items()}
    regulator_named(row["regulator"]).check_correction(conn, row, changes)
    return changes


def existing_submission(conn: Connection, submission_id: int) -> dict[str, Any]:
    """The ledger row of ``submission_id``, for an administrator's decision (who sees every point); 404 when
    there is none."""
    row = submission(conn, submission_id)
    if row is None:
        raise NotFound(es.no_submission(submission_id))
    return row


def allowed_states(kind: EventKind) -> list[str]:
    """The states a person's ``kind`` of decision may start from, as the ledger says (for error messages)."""
    allowed = []
    for state in State:
        try:
            transition(state, Event(kind, comprobante="-"), datetime.min)
        except IllegalTransition:
            continue
        allowed.append(state.value)
    return allowed


def decide(
    conn: Connection,
    submission_id: int,
    event: Event,
    actor: str,
    reason: str | None,
    now: datetime,
    *,
    also_allowed: str = "",
    **columns: Any,
) -> SubmissionOut:
    """Apply a person's decision through the ledger and record it on the slot, in the compliance log and
    in the audit trail (the caller's transaction holds all three). 409 names the state and what is allowed.
    Only an administrator decides, and sees every point."""
    current = get_submission(conn, submission_id, None)
    row = submission(conn, submission_id)
    verb = event.kind.value.removeprefix("person_")
    try:
        moved = move(conn, row, event, now, reviewed_by=actor, review_reason=reason, reviewed_at=now, **columns)
    except IllegalTransition:
        allowed = ", ".join(allowed_states(event.kind)) + also_allowed
        raise Conflict(es.not_allowed(submission_id, row["state"], verb, allowed)) from None
    except StaleSubmission:
        raise Conflict(es.changed_meanwhile(submission_id)) from None
    shown = {k: v for k, v in columns.items() if v is not None}
    if moved.comprobante is not None:
        shown["comprobante"] = moved.comprobante
    record_decision(conn, row, current.point, f"review.{verb}", actor, reason, now, state=moved.state.value, **shown)
    return get_submission(conn, submission_id, None)


def record_decision(
    conn: Connection,
    row: dict[str, Any],
    point: str,
    kind: str,
    actor: str,
    reason: str | None,
    now: datetime,
    *,
    state: str,
    **detail: Any,
) -> None:
    """The compliance log row and the audit row of a person's decision about the slot ``row``; the
    point's facts are judged again (the decision may end what an alert was about)."""
    slot = row["slot"].isoformat()
    audit.record(
        conn,
        actor,
        f"compliance.{kind}",
        f"point:{point}",
        now,
        submission=row["id"],
        slot=slot,
        reason=reason,
        state=state,
        **detail,
    )
    record_event(
        conn,
        now,
        kind,
        f"{point} medición {slot} pasa a {state} por decisión de {actor}" + (f": {reason}" if reason else ""),
        point_id=row["point_id"],
        regulator=row["regulator"],
        submission_id=row["id"],
        actor=actor,
        reason=reason,
        state=state,
        **detail,
    )
    settle(conn, now, row["point_id"])


def approve_review(
    conn: Connection, submission_id: int, decision: ReviewApproval, actor: str, now: datetime
) -> SubmissionOut:
    """Approve a held slot for sending, with a person's corrected values if given."""
    row = existing_submission(conn, submission_id)
    corrected = decision.values is not None and bool(decision.values.model_dump(exclude_none=True))
    kind = EventKind.PERSON_CORRECT if corrected else EventKind.PERSON_APPROVE
    if row["state"] not in allowed_states(kind):
        return decide(conn, submission_id, Event(kind), actor, decision.reason, now)  # 409 names why
    changes = _corrected(conn, row, decision.values or ValueCorrection())
    columns = {"corrected_values": json.dumps(changes)} if changes else {}
    return decide(conn, submission_id, Event(kind), actor, decision.reason, now, **columns)


def correct(conn: Connection, submission_id: int, decision: Correction, actor: str, now: datetime) -> SubmissionOut:
    """Declare corrected values for a held or not yet accepted slot, with the reason (recorded with it)."""
    corrected = _corrected(conn, existing_submission(conn, submission_id), decision.values)
    event = Event(EventKind.PERSON_CORRECT)
    return decide(conn, submission_id, event, actor, decision.reason, now, corrected_values=json.dumps(corrected))


PLAUSIBLE_UNSENT = frozenset({State.PENDING, State.RETRY_SCHEDULED, State.REJECTED, State.UNRECOVERABLE})


def discard(conn: Connection, submission_id: int, decision: ReviewDiscard, actor: str, now: datetime) -> SubmissionOut:
    """A person decides a slot is not to be sent (it stays in the ledger, discarded, with the reason): a slot
    held because a value cannot be physical, a gap, or one the DGA answered without a comprobante. A plausible
    measurement is refused (409): what was measured is declared (correct it, with a reason, if it is wrong)."""
    row = get_submission(conn, submission_id, None)
    if State(row.state) in PLAUSIBLE_UNSENT:
        allowed = ", ".join(allowed_states(EventKind.PERSON_DISCARD))
        raise Conflict(es.plausible_not_discarded(submission_id, row.state, allowed))
    return decide(conn, submission_id, Event(EventKind.PERSON_DISCARD), actor, decision.reason, now)
