"""Cumplimiento: the ledger with its comprobantes, the review queue and its decisions,
monthly reports to download, and the compliance log."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from central.ui.api import ApiRefused
from central.ui.console import Form, NotAllowed, Who, console_of, download, render
from central.ui.format import SANTIAGO
from central.ui.links import ReportFormat, report_api_request
from central.ui.views import REASONS

router = APIRouter(prefix="/ui", include_in_schema=False)
SNIA_URL = "https://snia.mop.gob.cl/cExtracciones2/#/consultaQR/{comprobante}"
SHOWN_SUBMISSIONS = 50
SHOWN_EVENTS = 50
DECISIONS = {
    "aprobar": ("/api/v1/compliance/review/{id}/approve", "aprobada"),
    "descartar": ("/api/v1/compliance/submissions/{id}/discard", "descartada"),
}


def _months(request: Request) -> list[str]:
    """This month and the previous one (Santiago's calendar), as the reports name them."""
    today = console_of(request).ctx.clock.now().astimezone(SANTIAGO).date()
    previous = today.replace(day=1).toordinal() - 1
    last_month = today.fromordinal(previous)
    return [today.strftime("%Y-%m"), last_month.strftime("%Y-%m")]


@router.get("/cumplimiento", response_class=HTMLResponse)
async def cumplimiento(request: Request, who: Who, punto: str | None = None, hecho: str | None = None) -> Response:
    api = console_of(request).api
    point = {"point": punto} if punto else {}
    queue, ledger, log, points = await asyncio.gather(
        api.get("/api/v1/compliance/review", who.token, limit=200, **point),
        api.get("/api/v1/compliance/submissions", who.token, limit=SHOWN_SUBMISSIONS, **point),
        api.get("/api/v1/compliance/log", who.token, limit=SHOWN_EVENTS, **point),
        api.all_items("/api/v1/points", who.token),
    )
    announced = hecho if hecho in {done for _, done in DECISIONS.values()} else None
    return render(
        request,
        "cumplimiento.html",
        who,
        queue=queue,
        ledger=ledger,
        log=log,
        points=points,
        months=_months(request),
        punto=punto,
        done=announced,
        snia_url=SNIA_URL,
        reasons=REASONS,
    )


@router.post("/cumplimiento/revision/{submission_id}/{decision}")
async def decidir(request: Request, who: Who, form: Form, submission_id: int, decision: str) -> Response:
    """A person's decision on a held slot: approve it for sending, or discard it with a reason
    (the API's review routes: administrators only, recorded in the ledger and the log)."""
    if decision not in DECISIONS:
        raise NotAllowed(404, "Decisión desconocida.")
    route, done = DECISIONS[decision]
    reason = form.get("motivo", "").strip() or None
    body = {"reason": reason} if reason or decision == "descartar" else {}
    try:
        await console_of(request).api.post(route.format(id=submission_id), who.token, body)
    except ApiRefused as refused:
        raise NotAllowed(refused.status, f"No se pudo registrar la decisión: {refused.message}") from None
    return RedirectResponse(f"/ui/cumplimiento?hecho={done}", status_code=303)


@router.get("/informes/{code}/{month}")
async def informe(
    request: Request, who: Who, code: str, month: str, fmt: Annotated[ReportFormat, Query(alias="format")]
) -> Response:
    """A monthly compliance report (with its informe de fallas) as the API writes it."""
    return await download(request, who, *report_api_request(code, month, fmt))


@router.get("/informes/{code}/{month}/informe-de-fallas")
async def informe_de_fallas(
    request: Request, who: Who, code: str, month: str, fmt: Annotated[ReportFormat, Query(alias="format")]
) -> Response:
    """The informe de fallas of a point and month alone: each slot not reported on time and why."""
    return await download(request, who, *report_api_request(code, month, fmt, failures=True))
