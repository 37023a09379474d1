"""The ledger as people see it: submissions with their attempts, and the review queue.

A declared value cannot be withdrawn from the DGA, so a slot that failed validation waits
here until a person accepts it (optionally with corrected values and the reason for them)
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

from central.core import audit
from central.db import Connection
from central.errors import ApiError
from central.pagination import Page, PageQuery, fetch_page
from compliance.dga.format import FormatError, build_measurement
from compliance.config_store import stored_dga_settings
from compliance.dga_evaluate import effective_values
from compliance.events import record_event
from compliance.ledger import Event, EventKind, IllegalTransition
from compliance.ledger_store import move, submission


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
    check_result: str | None
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


class ReviewAccept(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {}, {"values": {"caudal": "11.80"}, "reason": "flowmeter spike during maintenance; value from the log book"}]})

    values: ValueCorrection | None = None
    reason: str | None = Field(default=None, max_length=1000, description="Required when correcting values")

    @model_validator(mode="after")
    def _reason_for_corrections(self) -> ReviewAccept:
        corrected = self.values is not None and self.values.model_dump(exclude_none=True)
        if corrected and not (self.reason and self.reason.strip()):
            raise ValueError("reason is required when values are corrected")
        return self


class ReviewDiscard(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000)


_SELECT = ("SELECT s.*, p.code AS point FROM compliance_submissions s JOIN points p ON p.id = s.point_id")


def _out(row: dict[str, Any], attempts: list[AttemptOut]) -> SubmissionOut:
    loads = lambda text: None if text is None else json.loads(text)  # noqa: E731
    return SubmissionOut(**{**row, "values": loads(row["values_json"]), "corrected_values": loads(row["corrected_values"]),
                            "measurement": loads(row["measurement"]), "reasons": json.loads(row["reasons"]),
                            "attempts": attempts})


def _attempts(conn: Connection, ids: list[int]) -> dict[int, list[AttemptOut]]:
    found: dict[int, list[AttemptOut]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = conn.fetchall(f"SELECT * FROM compliance_attempts WHERE submission_id IN ({', '.join(map(str, ids))})"
                         " ORDER BY id")
    for row in rows:
        found[row["submission_id"]].append(AttemptOut(**{**row, "request": json.loads(row["request"])}))
    return found


def _where(point_ids: Collection[int] | None, filters: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    clauses, params = [], {}
    if point_ids is not None:
        clauses.append(f"s.point_id IN ({', '.join(str(int(i)) for i in sorted(point_ids) or [-1])})")
    tests = {"point": "p.code = :point", "state": "s.state = :state", "regulator": "s.regulator = :regulator",
             "slot_from": "s.slot >= :slot_from", "slot_to": "s.slot < :slot_to"}
    for name, value in filters.items():
        if value is not None:
            clauses.append(tests[name])
            params[name] = value
    return (f" WHERE {' AND '.join(clauses)}" if clauses else ""), params


def list_submissions(conn: Connection, paging: PageQuery, point_ids: Collection[int] | None,
                     **filters: Any) -> Page[SubmissionOut]:
    """Slots (newest first) with every attempt; ``filters``: point, state, regulator, slot_from, slot_to."""
    where, params = _where(point_ids, filters)
    page = fetch_page(conn, f"{_SELECT}{where} ORDER BY s.slot DESC, s.id DESC", params, paging, lambda row: row)
    attempts = _attempts(conn, [row["id"] for row in page.items])
    return Page(items=[_out(row, attempts[row["id"]]) for row in page.items], total=page.total,
                limit=page.limit, offset=page.offset)


def get_submission(conn: Connection, submission_id: int, point_ids: Collection[int] | None) -> SubmissionOut:
    row = conn.fetchone(f"{_SELECT} WHERE s.id = :id", {"id": submission_id})
    if row is None or (point_ids is not None and row["point_id"] not in point_ids):
        raise ApiError(404, f"no submission {submission_id}")
    return _out(row, _attempts(conn, [row["id"]])[row["id"]])


def _corrected(conn: Connection, row: dict[str, Any], correction: ValueCorrection) -> dict[str, str]:
    """The corrections as text, after checking the corrected slot can be written in the DGA format."""
    changes = {name: str(value) for name, value in correction.model_dump(exclude_none=True).items()}
    stored = stored_dga_settings(conn, row["point_id"]) if row["regulator"] == "dga" else None
    if stored is not None:
        config = stored[0]
        values = effective_values({**row, "corrected_values": json.dumps(changes)})
        try:
            build_measurement(config.work_type, config.standard, config.mining_waters, row["slot"], values)
        except FormatError as exc:
            raise ApiError(422, f"values: {exc}", details=[{"loc": ["body", "values"], "msg": str(exc)}]) from None
    return changes


def _decide(conn: Connection, submission_id: int, point_ids: Collection[int] | None, event: Event, actor: str,
            reason: str | None, now: datetime, **columns: Any) -> SubmissionOut:
    current = get_submission(conn, submission_id, point_ids)
    row = submission(conn, submission_id)
    verb = event.kind.value.removeprefix("person_")
    try:
        moved = move(conn, row, event, now, reviewed_by=actor, review_reason=reason, reviewed_at=now, **columns)
    except IllegalTransition:
        raise ApiError(409, f"submission {submission_id} is {row['state']}; a person cannot {verb} it now") from None
    detail = {"slot": row["slot"].isoformat(), "reason": reason, "state": moved.state.value, **columns}
    audit.record(conn, actor, f"compliance.review.{verb}", f"point:{current.point}", now,
                 submission=submission_id, **detail)
    record_event(conn, now, f"review.{verb}", f"{current.point} slot"
                 f" {detail['slot']} {moved.state.value} by {actor}" + (f": {reason}" if reason else ""),
                 point_id=row["point_id"], regulator=row["regulator"], submission_id=submission_id, actor=actor,
                 **{k: v for k, v in detail.items() if k != "slot"})
    return get_submission(conn, submission_id, point_ids)


def accept_review(conn: Connection, submission_id: int, point_ids: Collection[int] | None, decision: ReviewAccept,
                  actor: str, now: datetime) -> SubmissionOut:
    """Approve a held slot for sending, with a person's corrected values if given."""
    row = submission(conn, submission_id)
    if row is None or (point_ids is not None and row["point_id"] not in point_ids):
        raise ApiError(404, f"no submission {submission_id}")
    changes = _corrected(conn, row, decision.values) if decision.values else {}
    if changes:
        return _decide(conn, submission_id, point_ids, Event(EventKind.PERSON_CORRECT), actor, decision.reason, now,
                       corrected_values=json.dumps(changes))
    return _decide(conn, submission_id, point_ids, Event(EventKind.PERSON_APPROVE), actor, decision.reason, now)


def discard(conn: Connection, submission_id: int, point_ids: Collection[int] | None, decision: ReviewDiscard,
            actor: str, now: datetime) -> SubmissionOut:
    """A person decides a slot is not to be sent (it stays in the ledger, discarded, with the reason)."""
    return _decide(conn, submission_id, point_ids, Event(EventKind.PERSON_DISCARD), actor, decision.reason, now)
