"""The compliance service: regulator configurations, the ledger, the review queue, the
compliance log and monthly reports; and the submission worker on a timer.

Writes of configurations and review decisions need an administrator (a declared value
cannot be withdrawn from the DGA); reads need a user who may see the point.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Header, Query, Response

from central.context import AppContext
from central.core.auth.models import User
from central.core.lookups import visible_point_ids
from central.csv_dialects import Dialect, DialectQuery
from central.deps import AdminUser, Ctx, CurrentUser
from central.errors import ApiError, error_responses
from central.pagination import Page, Paging
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


@router.get(
    "/compliance/review",
    response_model=Page[SubmissionOut],
    summary="Slots waiting for a person: validation holds and unconfirmed replies",
    responses=error_responses(401, 422),
)
def review_queue(
    ctx: Ctx,
    user: CurrentUser,
    paging: Paging,
    point: str | None = None,
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
        return submissions.list_submissions(conn, paging, visible_point_ids(conn, user), point=point, states=states)


@router.post(
    "/compliance/review/{submission_id}/approve",
    response_model=SubmissionOut,
    summary="Approve a held slot for sending, maybe with corrected values (administrators)",
    responses=_WRITE,
)
def approve(submission_id: int, body: ReviewApproval, ctx: Ctx, user: AdminUser) -> SubmissionOut:
    """A person's approval of a held slot for sending (``accepted`` is only ever the regulator's
    answer); corrected values need a reason (both are recorded). To discard a slot, see
    ``POST /compliance/submissions/{id}/discard``."""
    with ctx.db.transaction() as conn:
        return submissions.approve_review(conn, submission_id, None, body, user.username, ctx.clock.now())


@router.post(
    "/compliance/submissions/{submission_id}/discard",
    response_model=SubmissionOut,
    summary="Decide a slot is not to be sent: held, a gap or needs_review; a plausible"
    " measurement is refused with 409 (administrators)",
    responses=_WRITE,
)
def discard_submission(
    submission_id: int,
    body: Annotated[ReviewDiscard, Body(openapi_examples=DISCARD_EXAMPLES)],
    ctx: Ctx,
    user: AdminUser,
) -> SubmissionOut:
    """Decide a slot is not to be sent (it stays in the ledger as discarded, with the reason)."""
    with ctx.db.transaction() as conn:
        return submissions.discard(conn, submission_id, None, body, user.username, ctx.clock.now())


@router.post(
    "/compliance/submissions/{submission_id}/correct",
    response_model=SubmissionOut,
    summary="Declare corrected values, with the reason, for a held or not yet accepted slot (administrators)",
    responses=_WRITE,
)
def correct_submission(submission_id: int, body: Correction, ctx: Ctx, user: AdminUser) -> SubmissionOut:
    """The corrected values replace the measured ones when the slot is sent; the reason and who corrected
    it are kept with the slot and shown in the reports."""
    with ctx.db.transaction() as conn:
        return submissions.correct(conn, submission_id, None, body, user.username, ctx.clock.now())


@router.post(
    "/compliance/submissions/{submission_id}/confirm",
    response_model=SubmissionOut,
    summary="Confirm a slot with the comprobante seen in SNIA (administrators)",
    responses=_WRITE,
)
def confirm_submission(
    submission_id: int,
    body: Annotated[ConfirmDecision, Body(openapi_examples=CONFIRM_EXAMPLES)],
    ctx: Ctx,
    user: AdminUser,
) -> SubmissionOut:
    """needs_review -> accepted with that comprobante (the GET check verifies it on the next pass); for an
    accepted slot whose GET check found nothing, the person's word (a different comprobante is checked by GET)."""
    with ctx.db.transaction() as conn:
        return person_actions.confirm(conn, submission_id, body, user.username, ctx.clock.now())


@router.post(
    "/compliance/submissions/{submission_id}/requeue",
    response_model=SubmissionOut,
    summary="Send a needs_review slot again after checking SNIA does not hold it (administrators)",
    responses=_WRITE,
)
def requeue_submission(
    submission_id: int,
    body: Annotated[RequeueDecision, Body(openapi_examples=REQUEUE_EXAMPLES)],
    ctx: Ctx,
    user: AdminUser,
) -> SubmissionOut:
    """Back to pending: sent on the next pass. Never for an accepted slot (409)."""
    with ctx.db.transaction() as conn:
        return person_actions.requeue(conn, submission_id, body, user.username, ctx.clock.now())


@router.post(
    "/compliance/submissions/{submission_id}/recheck",
    response_model=SubmissionOut,
    summary="Ask the DGA again for a comprobante its GET check did not find (administrators)",
    responses=_WRITE,
)
def recheck_submission(
    submission_id: int,
    ctx: Ctx,
    user: AdminUser,
    body: Annotated[RecheckDecision | None, Body(openapi_examples=RECHECK_EXAMPLES)] = None,
) -> SubmissionOut:
    """The GET check is made again on the next pass; the slot stays accepted (never resent)."""
    with ctx.db.transaction() as conn:
        return person_actions.recheck(conn, submission_id, body or RecheckDecision(), user.username, ctx.clock.now())


@router.get(
    "/compliance/submissions",
    response_model=Page[SubmissionOut],
    summary="The submission ledger, newest slot first",
    responses=error_responses(401, 422),
)
def list_submissions(
    ctx: Ctx,
    user: CurrentUser,
    paging: Paging,
    span: Range,
    point: str | None = None,
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
            paging,
            visible_point_ids(conn, user),
            point=point,
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
    responses=error_responses(401, 422),
)
def compliance_log(
    ctx: Ctx,
    user: CurrentUser,
    paging: Paging,
    span: Range,
    point: str | None = None,
    kind: str | None = None,
    alert: bool | None = None,
) -> Page[ComplianceEvent]:
    """Configuration changes, submissions, reviews and errors, newest first; ``from`` and ``to``
    bound when they happened."""
    with ctx.db.connect() as conn:
        return list_events(
            conn, paging, point_ids=visible_point_ids(conn, user), point_code=point, kind=kind, alert=alert, span=span
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


def _report(ctx: AppContext, user: User, code: str, month: str) -> reports.MonthReport:
    with ctx.db.connect() as conn:
        return reports.build_report(conn, visible_point(conn, user, code), month, ctx.clock.now())


@router.get(
    "/compliance/reports/{code}/{month}",
    response_class=Response,
    summary="A point's monthly compliance report, as CSV or XLSX",
    responses=_REPORT,
)
def report(
    code: str,
    month: str,
    ctx: Ctx,
    user: CurrentUser,
    fmt: FormatQuery = None,
    dialect: DialectQuery = "csv",
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """The month's slots (up to now), informe de fallas and volume against the water right; as a
    workbook, the sheets Mediciones, Fallas and Resumen."""
    chosen = report_format(fmt, accept, dialect)
    found = _report(ctx, user, code, month)
    if chosen == "xlsx":
        return attachment(reports.to_xlsx(found), XLSX_TYPE, f"{code}-{month}.xlsx")
    return attachment(reports.to_csv(found, dialect), CSV_TYPE, f"{code}-{month}.csv")


@router.get(
    "/compliance/reports/{code}/{month}/informe-de-fallas",
    response_class=Response,
    summary="A point's informe de fallas of a month (Spanish, for the regulator), as CSV or XLSX",
    responses=_REPORT,
)
def failures(
    code: str,
    month: str,
    ctx: Ctx,
    user: CurrentUser,
    fmt: FormatQuery = None,
    dialect: DialectQuery = "csv",
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """Each slot not reported on time: its deadline, when it was accepted, its cause and whose failure it
    was; in the workbook, times are spreadsheet date-times on the DGA's UTC-4 clock."""
    chosen = report_format(fmt, accept, dialect)
    found = _report(ctx, user, code, month)
    name = f"{code}-{month}-informe-de-fallas"
    if chosen == "xlsx":
        return attachment(reports.failures_xlsx(found), XLSX_TYPE, f"{name}.xlsx")
    return attachment(reports.failures_csv(found, dialect), CSV_TYPE, f"{name}.csv")
