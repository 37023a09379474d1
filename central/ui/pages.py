"""The console's everyday pages: Resumen, Punto and Alertas."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from central.core.auth.models import User
from central.ui import summary, views
from central.ui.api import ApiRefused, segment
from central.ui.console import Console, Form, NotAllowed, Who, console_of, download, render
from central.ui.format import SANTIAGO

router = APIRouter(prefix="/ui", include_in_schema=False)
HOUR_CHART_MAX_DAYS = 31
ALERT_STATES = {"open": "Abiertas", "acknowledged": "Reconocidas", "cleared": "Cerradas"}


def _summary(console: Console, user: User) -> list[views.SummaryRow]:
    """The Resumen's rows, in a fixed number of statements whatever the number of points."""
    now = console.ctx.clock.now()
    with console.ctx.db.connect() as conn:
        data = summary.read_summary(conn, user, console.lights, now)
    return views.summary_rows(
        data.points, data.open_alerts, data.lights, now, console.ctx.settings.gateway_offline_after_s
    )


@router.get("/", response_class=HTMLResponse)
async def resumen(request: Request, who: Who) -> Response:
    """Every visible point on a map and in a table with its latest values and semáforo."""
    console = console_of(request)
    rows = await run_in_threadpool(_summary, console, who.user)
    return render(
        request,
        "resumen.html",
        who,
        rows=rows,
        markers=views.markers(rows),
        colour_names=views.COLOUR_NAMES,
        reasons=views.REASONS,
        settings=console.settings,
    )


async def _point(request: Request, who: Who, code: str) -> dict:
    try:
        return await console_of(request).api.get(f"/api/v1/points/{segment(code)}", who.token)
    except ApiRefused as refused:
        if refused.status == 404:
            raise NotAllowed(404, f"No hay un punto {code} que usted pueda ver.") from None
        raise


def _today(request: Request) -> date:
    return console_of(request).ctx.clock.now().astimezone(SANTIAGO).date()


@router.get("/puntos/{code}", response_class=HTMLResponse)
async def punto(
    request: Request, who: Who, code: str, desde: date | None = None, hasta: date | None = None
) -> Response:
    """Charts of the chosen days from the API's aggregates, monthly volumes against the
    water right, exports and meter changes."""
    api = console_of(request).api
    point = await _point(request, who, code)
    first, last = views.day_range(desde, hasta, _today(request))
    span = {
        "from": views.local_midnight(first).isoformat(),
        "to": views.local_midnight(last + timedelta(days=1)).isoformat(),
    }
    bucket = "hour" if (last - first).days < HOUR_CHART_MAX_DAYS else "day"
    year_ago = {"from": views.local_midnight(last.replace(day=1) - timedelta(days=335)).isoformat(), "to": span["to"]}
    fine, days, months, changes = await asyncio.gather(
        api.get(f"/api/v1/points/{segment(code)}/aggregates", who.token, bucket=bucket, **span),
        api.get(f"/api/v1/points/{segment(code)}/aggregates", who.token, bucket="day", **span),
        api.get(f"/api/v1/points/{segment(code)}/aggregates", who.token, bucket="month", **year_ago),
        api.get(f"/api/v1/points/{segment(code)}/meter-changes", who.token, limit=100),
    )
    month_rows = views.month_rows(months["items"], point.get("water_right_lps"))
    return render(
        request,
        "punto.html",
        who,
        point=point,
        first=first,
        last=last,
        bucket=bucket,
        chart=views.chart_data(fine["items"], days["items"]),
        months=month_rows,
        changes=changes["items"],
        span=span,
    )


# the console's download choices, as the API's format and dialect
DOWNLOADS = {"csv": {"format": "csv"}, "excel-es": {"format": "csv", "dialect": "excel-es"}, "xlsx": {"format": "xlsx"}}


@router.get("/puntos/{code}/lecturas")
async def lecturas(
    request: Request, who: Who, code: str, desde: date, hasta: date, formato: Literal["csv", "excel-es", "xlsx"] = "csv"
) -> Response:
    """The API's readings download of the chosen days (CSV, CSV for a Spanish spreadsheet or
    XLSX), through the console's session."""
    start, end = views.local_midnight(desde), views.local_midnight(hasta + timedelta(days=1))
    return await download(
        request,
        who,
        f"/api/v1/points/{segment(code)}/readings",
        {**DOWNLOADS[formato], "from": start.isoformat(), "to": end.isoformat()},
    )


@router.get("/alertas", response_class=HTMLResponse)
async def alertas(
    request: Request,
    who: Who,
    estado: Annotated[Literal["open", "acknowledged", "cleared"], Query()] = "open",
    hecho: str | None = None,
) -> Response:
    page = await console_of(request).api.get("/api/v1/alerts", who.token, status=estado, limit=200)
    return render(
        request,
        "alertas.html",
        who,
        alerts=page["items"],
        total=page["total"],
        estado=estado,
        states=ALERT_STATES,
        done=hecho if hecho == "reconocida" else None,
    )


@router.post("/alertas/{alert_id}/reconocer")
async def reconocer(request: Request, who: Who, form: Form, alert_id: str) -> Response:
    """Acknowledge an open alert with a comment (the API's ack: who and when are recorded)."""
    comment = form.get("comentario", "").strip() or None
    try:
        await console_of(request).api.post(f"/api/v1/alerts/{segment(alert_id)}/ack", who.token, {"comment": comment})
    except ApiRefused as refused:
        raise NotAllowed(refused.status, f"No se pudo reconocer la alerta: {refused.message}") from None
    return RedirectResponse("/ui/alertas?estado=acknowledged&hecho=reconocida", status_code=303)
