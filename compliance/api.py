"""The compliance service: regulator configurations, the ledger, the review queue, the
compliance log and monthly reports; and the submission worker on a timer.

Writes of configurations and review decisions need an administrator (a declared value
cannot be withdrawn from the DGA); reads need a user who may see the point.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, Query, Response
from pydantic import BaseModel

from central.context import AppContext
from central.core.auth.models import User
from central.core.lookups import visible_point_ids
from central.csv_dialects import Dialect, DialectQuery
from central.db import Connection
from central.deps import AdminUser, Ctx, CurrentUser
from central.errors import ApiError, error_responses
from central.pagination import Page, PageQuery, Paging
from central.timerange import Range
from compliance import messages_es as es
from compliance import person_actions, reports, submissions
from compliance.config_api import add_config_routes, visible_point
from compliance.events import (
    IN_FLIGHT_RESEND,
    ComplianceEvent,
    count_by_regulator,
    list_events,
)
from compliance.ledger import State
from compliance.person_actions import ConfirmDecision, RecheckDecision, RequeueDecision
from compliance.registry import REGULATORS, RegulatorName
from compliance.report_download import CSV_TYPE, XLSX_TYPE, FormatQuery, ReportFormat, attachment, media_ranges
from compliance.settings import ComplianceSettings, rut_empresa
from compliance.submissions import (
    Correction,
    ReviewApproval,
    ReviewDiscard,
    SubmissionOut,
)
from compliance.worker import ComplianceWorker

router = APIRouter(prefix="/api/v1", tags=["compliance"])

DISCARD_EXAMPLES = {
    "reason": {
        "summary": "Why the slot is not sent",
        "value": {"reason": "the meter was under maintenance; the DGA was told by letter"},
    }
}
CONFIRM_EXAMPLES = {
    "snia": {
        "summary": "The comprobante SNIA shows for the slot",
        "value": {"comprobante": "9F3A61C2D4B7E0815A22", "reason": "seen in SNIA consultaQR on 2026-11-29"},
    }
}
REQUEUE_EXAMPLES = {
    "absent": {
        "summary": "SNIA does not show the measurement",
        "value": {"reason": "SNIA shows no measurement for 2026-11-28 08:00; send it"},
    }
}
RECHECK_EXAMPLES = {
    "plain": {"summary": "Ask the DGA again", "value": {}},
    "reason": {"summary": "With a note", "value": {"reason": "SNIA was slow this morning; ask again"}},
}
ReviewState = Literal["review", "needs_review"]
CheckResultFilter = Literal["confirmed", "mismatch", "not_found", "unknown", "person_confirmed"]
_READ = error_responses(401, 404, 422)
_LIST = error_responses(401, 422)
_WRITE = error_responses(401, 403, 404, 409, 422)
routers: list[APIRouter] = [router]


def setup(ctx: AppContext) -> None:
    """Validate the compliance settings (and the Centro de Control's RUT) up front, on a replica
    that runs no worker too; publish the count of in-flight resends (read from the compliance
    log, so it spans worker processes and restarts)."""
    rut_empresa(ctx.settings)
    ComplianceSettings.from_env()
    ctx.metrics.add_gauges(
        "caudal_dga_in_flight_resends",
        "DGA sends of a slot whose earlier send was in flight"
        " when a worker stopped (the DGA may already hold it): the only possible second POST"
        " of a slot the DGA accepted",
        ["regulator"],
        _in_flight_resends(ctx),
    )


def _in_flight_resends(ctx: AppContext) -> Callable[[], list[tuple[list[str], float]]]:
    def sample() -> list[tuple[list[str], float]]:
        with ctx.db.connect() as conn:
            counts = count_by_regulator(conn, IN_FLIGHT_RESEND)
        resending = {regulator.name: 0 for regulator in REGULATORS.values() if regulator.resends_in_flight}
        return [([regulator], float(count)) for regulator, count in {**resending, **counts}.items()]

    return sample


def workers(ctx: AppContext) -> list[Callable[[asyncio.Event], Awaitable[None]]]:
    """The submission worker, on a timer, for the life of the service; its settings are read here,
    at start-up (:func:`setup` already refused a bad one), since ``central``'s context holds none
    of compliance's."""
    worker = ComplianceWorker(ctx.db, ctx.clock, ctx.secret_box, ctx.settings, ComplianceSettings.from_env())

    async def compliance_worker(stop: asyncio.Event) -> None:
        await worker.run(stop)

    return [compliance_worker]


for _regulator in REGULATORS.values():
    add_config_routes(router, _regulator)


@dataclass(frozen=True)
class Listing:
    """What each list of the service is asked for alike: the page, maybe one point's code, and the
    user, whose points bound what the list shows."""

    user: User
    paging: PageQuery
    point: str | None


async def listing(user: CurrentUser, paging: Paging, point: str | None = None) -> Listing:
    """``async``: no I/O, so no trip through the thread pool (as :func:`central.pagination.page_query`)."""
    return Listing(user, paging, point)


Listed = Annotated[Listing, Depends(listing)]
"""Route parameter alias: ``listed: Listed`` reads ``?limit=&offset=&point=`` and the user."""


@router.get(
    "/compliance/review",
    response_model=Page[SubmissionOut],
    summary="Slots waiting for a person: validation holds and unconfirmed replies",
    responses=_LIST,
)
def review_queue(
    ctx: Ctx,
    listed: Listed,
    state: Annotated[
        ReviewState | None,
        Query(
            description="review: values held by validation; needs_review: the regulator's answer left it unconfirmed."
            " Both when omitted"
        ),
    ] = None,
) -> Page[SubmissionOut]:
    """Slots held for a person, with the reasons and the values they would declare."""
    states = (state,) if state else ("review", "needs_review")
    with ctx.db.connect() as conn:
        return submissions.list_submissions(
            conn, listed.paging, visible_point_ids(conn, listed.user), point=listed.point, states=states
        )


DiscardBody = Annotated[ReviewDiscard, Body(openapi_examples=DISCARD_EXAMPLES)]
ConfirmBody = Annotated[ConfirmDecision, Body(openapi_examples=CONFIRM_EXAMPLES)]
RequeueBody = Annotated[RequeueDecision, Body(openapi_examples=REQUEUE_EXAMPLES)]
RecheckBody = Annotated[RecheckDecision | None, Body(openapi_examples=RECHECK_EXAMPLES)]
Decide = Callable[[Connection, int, Any, str, datetime], SubmissionOut]
"""A person's decision about one slot: ``(conn, submission_id, decision, actor, now)``."""


@dataclass(frozen=True)
class Decider:
    """An administrator about to decide a slot's fate: every decision runs the same way, in one
    transaction, signed with the administrator's name and the clock's now."""

    ctx: AppContext
    admin: User

    def apply(self, decide: Decide, submission_id: int, decision: BaseModel) -> SubmissionOut:
        with self.ctx.db.transaction() as conn:
            return decide(conn, submission_id, decision, self.admin.username, self.ctx.clock.now())


async def decider(ctx: Ctx, admin: AdminUser) -> Decider:
    """``async``: no I/O, so no trip through the thread pool."""
    return Decider(ctx, admin)


Deciding = Annotated[Decider, Depends(decider)]
"""Route parameter alias: ``admin: Deciding`` needs an administrator (401/403 otherwise)."""


@router.post(
    "/compliance/review/{submission_id}/approve",
    response_model=SubmissionOut,
    summary="Approve a held slot for sending, maybe with corrected values (administrators)",
    responses=_WRITE,
)
def approve(submission_id: int, body: ReviewApproval, admin: Deciding) -> SubmissionOut:
    """A person's approval of a held slot for sending (``accepted`` is only ever the regulator's
    answer); corrected values need a reason (both are recorded). To discard a slot, see
    ``POST /compliance/submissions/{id}/discard``."""
    return admin.apply(submissions.approve_review, submission_id, body)


@router.post(
    "/compliance/submissions/{submission_id}/discard",
    response_model=SubmissionOut,
    summary="Decide a slot is not to be sent: held, a gap or needs_review; a plausible"
    " measurement is refused with 409 (administrators)",
    responses=_WRITE,
)
def discard_submission(submission_id: int, body: DiscardBody, admin: Deciding) -> SubmissionOut:
    """Decide a slot is not to be sent (it stays in the ledger as discarded, with the reason)."""
    return admin.apply(submissions.discard, submission_id, body)


@router.post(
    "/compliance/submissions/{submission_id}/correct",
    response_model=SubmissionOut,
    summary="Declare corrected values, with the reason, for a held or not yet accepted slot (administrators)",
    responses=_WRITE,
)
def correct_submission(submission_id: int, body: Correction, admin: Deciding) -> SubmissionOut:
    """The corrected values replace the measured ones when the slot is sent; the reason and who corrected
    it are kept with the slot and shown in the reports."""
    return admin.apply(submissions.correct, submission_id, body)


@router.post(
    "/compliance/submissions/{submission_id}/confirm",
    response_model=SubmissionOut,
    summary="Confirm a slot with the comprobante seen in SNIA (administrators)",
    responses=_WRITE,
)
def confirm_submission(submission_id: int, body: ConfirmBody, admin: Deciding) -> SubmissionOut:
    """needs_review -> accepted with that comprobante (the GET check verifies it on the next pass); for an
    accepted slot whose GET check found nothing, the person's word (a different comprobante is checked by GET)."""
    return admin.apply(person_actions.confirm, submission_id, body)


@router.post(
    "/compliance/submissions/{submission_id}/requeue",
    response_model=SubmissionOut,
    summary="Send a needs_review slot again after checking SNIA does not hold it (administrators)",
    responses=_WRITE,
)
def requeue_submission(submission_id: int, body: RequeueBody, admin: Deciding) -> SubmissionOut:
    """Back to pending: sent on the next pass. Never for an accepted slot (409)."""
    return admin.apply(person_actions.requeue, submission_id, body)


@router.post(
    "/compliance/submissions/{submission_id}/recheck",
    response_model=SubmissionOut,
    summary="Ask the DGA again for a comprobante its GET check did not find (administrators)",
    responses=_WRITE,
)
def recheck_submission(submission_id: int, admin: Deciding, body: RecheckBody = None) -> SubmissionOut:
    """The GET check is made again on the next pass; the slot stays accepted (never resent)."""
    return admin.apply(person_actions.recheck, submission_id, body or RecheckDecision())


@router.get(
    "/compliance/submissions",
    response_model=Page[SubmissionOut],
    summary="The submission ledger, newest slot first",
    responses=_LIST,
)
def list_submissions(
    ctx: Ctx,
    listed: Listed,
    span: Range,
    state: State | None = None,
    regulator: RegulatorName | None = None,  # type: ignore[valid-type]
    check_result: Annotated[
        CheckResultFilter | None,
        Query(description="person_confirmed: a person saw in SNIA a slot the check did not find"),
    ] = None,
) -> Page[SubmissionOut]:
    """The ledger, newest slot first, each with every attempt made (passwords redacted); ``from``
    and ``to`` bound the slots."""
    with ctx.db.connect() as conn:
        return submissions.list_submissions(
            conn,
            listed.paging,
            visible_point_ids(conn, listed.user),
            point=listed.point,
            state=state.value if state else None,
            regulator=regulator,
            slot_from=span.start,
            slot_to=span.end,
            check_result=check_result,
        )


@router.get(
    "/compliance/submissions/{submission_id}",
    response_model=SubmissionOut,
    summary="One submission with its attempts",
    responses=_READ,
)
def get_submission(submission_id: int, ctx: Ctx, user: CurrentUser) -> SubmissionOut:
    with ctx.db.connect() as conn:
        return submissions.get_submission(conn, submission_id, visible_point_ids(conn, user))


@router.get(
    "/compliance/log",
    response_model=Page[ComplianceEvent],
    summary="The compliance log, newest first",
    responses=_LIST,
)
def compliance_log(
    ctx: Ctx, listed: Listed, span: Range, kind: str | None = None, alert: bool | None = None
) -> Page[ComplianceEvent]:
    """Configuration changes, submissions, reviews and errors, newest first; ``from`` and ``to``
    bound when they happened."""
    with ctx.db.connect() as conn:
        point_ids = visible_point_ids(conn, listed.user)
        return list_events(
            conn, listed.paging, point_ids=point_ids, point_code=listed.point, kind=kind, alert=alert, span=span
        )


_REPORT = {
    200: {
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
        },
        "description": "The report, as CSV or as an Excel workbook",
    },
    **_READ,
}


def report_format(chosen: ReportFormat | None, accept: str | None, dialect: Dialect) -> ReportFormat:
    """One way to choose a report's format: ``?format=``, else the Accept header, else CSV. A CSV
    dialect asked for a workbook is a 422 (it would be ignored silently)."""
    if chosen is None:
        weights = media_ranges(accept or "")
        chosen = "xlsx" if weights.get(XLSX_TYPE, 0.0) > weights.get("text/csv", 0.0) else "csv"
    if chosen == "xlsx" and dialect != "csv":
        raise ApiError(422, es.dialect_is_csv(), details=[{"loc": ["query", "dialect"], "msg": es.dialect_is_csv()}])
    return chosen


@dataclass(frozen=True)
class ReportAsked:
    """How a report is to leave: the format :func:`report_format` chose, and the CSV dialect."""

    format: ReportFormat
    dialect: Dialect


async def report_asked(
    fmt: FormatQuery = None,
    dialect: DialectQuery = "csv",
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> ReportAsked:
    """Both report routes choose alike, before the report is built (a bad choice is a 422 first)."""
    return ReportAsked(report_format(fmt, accept, dialect), dialect)


Asked = Annotated[ReportAsked, Depends(report_asked)]
"""Route parameter alias: ``asked: Asked`` reads ``?format=&dialect=`` and the Accept header."""


def _report(ctx: AppContext, user: User, code: str, month: str) -> reports.MonthReport:
    with ctx.db.connect() as conn:
        return reports.build_report(conn, visible_point(conn, user, code), month, ctx.clock.now())


def _download(
    asked: ReportAsked,
    name: str,
    found: reports.MonthReport,
    xlsx: Callable[[reports.MonthReport], bytes],
    csv: Callable[[reports.MonthReport, Dialect], str],
) -> Response:
    """``found`` as the download ``name``.xlsx or ``name``.csv, as asked."""
    if asked.format == "xlsx":
        return attachment(xlsx(found), XLSX_TYPE, f"{name}.xlsx")
    return attachment(csv(found, asked.dialect), CSV_TYPE, f"{name}.csv")


@router.get(
    "/compliance/reports/{code}/{month}",
    response_class=Response,
    summary="A point's monthly compliance report, as CSV or XLSX",
    responses=_REPORT,
)
def report(code: str, month: str, ctx: Ctx, user: CurrentUser, asked: Asked) -> Response:
    """The month's slots (up to now), informe de fallas and volume against the water right; as a
    workbook, the sheets Mediciones, Fallas and Resumen."""
    found = _report(ctx, user, code, month)
    return _download(asked, f"{code}-{month}", found, reports.to_xlsx, reports.to_csv)


@router.get(
    "/compliance/reports/{code}/{month}/informe-de-fallas",
    response_class=Response,
    summary="A point's informe de fallas of a month (Spanish, for the regulator), as CSV or XLSX",
    responses=_REPORT,
)
def failures(code: str, month: str, ctx: Ctx, user: CurrentUser, asked: Asked) -> Response:
    """Each slot not reported on time: its deadline, when it was accepted, its cause and whose failure it
    was; in the workbook, times are spreadsheet date-times on the DGA's UTC-4 clock."""
    found = _report(ctx, user, code, month)
    return _download(asked, f"{code}-{month}-informe-de-fallas", found, reports.failures_xlsx, reports.failures_csv)
