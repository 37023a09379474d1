"""Telemetry routes for people: readings, aggregates, latest values, meter swaps; with the
gateways' routes (``central.telemetry.uplink.api``: ingest, assigned points) in ``routers``.

``workers``: the rollup worker (``central.telemetry.rollup_worker``), which refreshes the
hourly summaries ingest marked stale; ``setup`` publishes ``caudal_rollup_pending_marks`` and
the other gauges of what waits for a worker.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Body, Query
from fastapi.responses import Response, StreamingResponse

from central import spreadsheet
from central.context import AppContext
from central.core.points.service import visible_point
from central.csv_dialects import DialectQuery
from central.db import Connection, IntegrityError
from central.deps import (
    Ctx,
    CurrentUser,
)
from central.errors import ApiError, error_responses
from central.fastjson import FastJSONResponse
from central.pagination import Page, Paging
from central.telemetry import aggregates, exports, queries
from central.telemetry.buckets import DEFAULT_TZ, Bucket, spans
from central.telemetry.exports import MEDIA_TYPES, XLSX, attachment_name
from central.telemetry.models import (
    AggregatesOut,
    LatestPoint,
    MeterChangeIn,
    MeterChangeOut,
    ReadingsPage,
)
from central.telemetry.rollup_worker import Worker, rollup_worker
from central.telemetry.uplink import api as uplink_api
from central.timerange import Range, TimeRange, check_order, iso_z

router = APIRouter(tags=["telemetry"])
routers = [uplink_api.router, router]
fast_routes = uplink_api.fast_routes  # served ahead of every router (see central.app)

FormatQuery = Annotated[
    exports.DataFormat,
    Query(description="json (the default), csv (see dialect) or xlsx: a download of the whole range"),
]
MAX_BUCKETS = 20_000
MAX_READINGS_PAGE = 10_000
READINGS_PAGE = 1_000
DEFAULT_SPAN: dict[str, timedelta] = {
    "hour": timedelta(days=2),
    "day": timedelta(days=31),
    "month": timedelta(days=366),
}

# --- queries -----------------------------------------------------------------------------------


def _download_responses(described: str) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a point's data route: a 200 in JSON, CSV or XLSX as ``?format=`` asks."""
    return {200: {"content": {"text/csv": {}, XLSX: {}}, "description": described}, **error_responses(401, 404, 422)}


def _range(span: TimeRange, now: datetime, default: timedelta) -> tuple[datetime, datetime]:
    """``span`` with its open ends filled: ``to`` defaults to now, ``from`` to ``default`` before ``to``."""
    end = span.end or now
    start = span.start or end - default
    check_order(start, end)
    return start, end


@router.get(
    "/api/v1/points/{code}/readings",
    response_model=ReadingsPage,
    summary="A point's readings: a JSON page, or CSV or XLSX of the whole range",
    responses=_download_responses(
        "JSON page, or the whole range with format=csv (in the dialect asked) or format=xlsx"
    ),
)
def get_readings(
    code: str,
    ctx: Ctx,
    user: CurrentUser,
    span: Range,
    variable: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int | None, Query(ge=1, le=MAX_READINGS_PAGE, description="Page size (CSV: row cap)")] = None,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page; none for the first")] = None,
    total: Annotated[
        bool,
        Query(
            description="Also count the rows of the whole range (a scan of it: slow over"
            " months); otherwise total is null"
        ),
    ] = False,
    format: FormatQuery = "json",
    dialect: DialectQuery = "csv",
):
    """Readings of one point in ``[from, to)``, ordered by ts then variable (default: the
    day before ``to``, which defaults to now).
    JSON is paged by cursor: each page's ``next_cursor`` (null on the last page) is the next
    request's ``?cursor=``; ``total`` is null unless ``?total=true``, ``offset`` is always 0.
    CSV streams the whole range (a header, then ts, variable, value, unit, quality, flags,
    raw_value); XLSX is one sheet for a person (Spanish headers, times on America/Santiago's
    clock), up to a sheet's 1,048,575 rows."""
    with ctx.db.connect() as conn:
        point = visible_point(conn, user, code)
        first, last = _range(span, ctx.clock.now(), timedelta(days=1))
        selection = queries.ReadingFilter(point["id"], first, last, variable)
        if format == "csv":
            return StreamingResponse(
                queries.readings_csv(ctx.db, selection, limit, dialect),
                media_type=MEDIA_TYPES[format],
                headers=attachment_name(code, "lecturas", format),
            )
        if format == "xlsx":
            return _readings_xlsx(ctx, conn, code, selection, limit)
        size = limit or READINGS_PAGE  # readings pages go up to MAX_READINGS_PAGE, beyond the generic lists' 500
        try:
            page = queries.readings_page(conn, selection, size, cursor, count=total)
        except queries.CursorError as exc:
            raise ApiError(422, str(exc), code="invalid_cursor") from None
    return FastJSONResponse(
        {"items": page.items, "total": page.total, "limit": size, "offset": 0, "next_cursor": page.next_cursor}
    )  # the shape of ReadingsPage, encoded once


def _readings_xlsx(
    ctx: AppContext, conn: Connection, code: str, selection: queries.ReadingFilter, limit: int | None
) -> Response:
    rows = queries.count_readings(conn, selection) if limit is None else limit
    if rows > spreadsheet.MAX_ROWS:
        raise ApiError(
            422,
            f"el rango tiene {rows} lecturas y una hoja de cálculo admite {spreadsheet.MAX_ROWS};"
            " pida un rango más corto o use format=csv",
        )
    content = exports.readings_xlsx(ctx.db, selection, limit, ZoneInfo(DEFAULT_TZ))
    return Response(content, media_type=XLSX, headers=attachment_name(code, "lecturas", "xlsx"))


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ApiError(422, f"zona horaria desconocida {name!r} (use un nombre IANA como America/Santiago)") from None


@router.get(
    "/api/v1/points/{code}/aggregates",
    response_model=AggregatesOut,
    summary="Flow, volume, level and gaps of a point per hour, day or month (JSON, CSV or XLSX)",
    responses=_download_responses(
        "JSON, or with format=csv (in the dialect asked) or format=xlsx the buckets that have begun"
    ),
)
def get_aggregates(
    code: str,
    ctx: Ctx,
    user: CurrentUser,
    span: Range,
    bucket: Bucket = "day",
    tz: Annotated[
        str,
        Query(
            description="Calendar of day and month buckets, and the zone of every bucket's"
            " start and end (hours are UTC hours)"
        ),
    ] = DEFAULT_TZ,
    interval_s: Annotated[int, Query(ge=1, le=86_400, description="Expected reading interval")] = 60,
    format: FormatQuery = "json",
    dialect: DialectQuery = "csv",
):
    """Per bucket: min/max/avg flow (L/s), extracted volume (m3) from totalizer increases
    (a decrease is a reset and adds nothing; recorded meter swaps are accounted for), min/max
    level and water table (m), stored rows and minutes without data. Day and month buckets
    follow ``tz`` (default America/Santiago), hour buckets are UTC hours; every bucket's
    ``start`` and ``end`` are written in ``tz`` with its offset. The range widens to whole
    buckets. Volume between two readings is credited to the later reading's bucket. CSV and
    XLSX carry the buckets that have begun (CSV with the JSON's names and UTC times, XLSX
    with Spanish headers and times on ``tz``'s clock)."""
    zone = _zone(tz)
    now = ctx.clock.now()
    first, last = _range(span, now, DEFAULT_SPAN[bucket])
    try:
        buckets = spans(first, last, bucket, zone, MAX_BUCKETS)
    except ValueError as exc:
        raise ApiError(422, str(exc)) from None
    with ctx.db.connect() as conn:
        point = visible_point(conn, user, code)
    items = aggregates.summary(ctx.db, point["id"], bucket, zone, buckets, interval_s, now)
    if format == "csv":
        return Response(
            exports.aggregates_csv(exports.begun(items, now), dialect),
            media_type=MEDIA_TYPES[format],
            headers=attachment_name(code, "agregados", format),
        )
    if format == "xlsx":
        return Response(
            exports.aggregates_xlsx(exports.begun(items, now), zone),
            media_type=XLSX,
            headers=attachment_name(code, "agregados", format),
        )
    for item in items:
        item["start"], item["end"] = item["start"].astimezone(zone), item["end"].astimezone(zone)
    return FastJSONResponse(
        {"point": code, "bucket": bucket, "tz": zone.key, "interval_s": interval_s, "items": items}
    )  # the shape of AggregatesOut, encoded once


@router.get(
    "/api/v1/latest",
    response_model=Page[LatestPoint],
    summary="The newest reading of each variable of every point you may see, a page of points by code",
    responses=error_responses(401, 422),
)
def get_latest(ctx: Ctx, user: CurrentUser, paging: Paging) -> Page[LatestPoint]:
    """A page of the points the caller sees, by code, with the newest reading of each variable and its age."""
    now = ctx.clock.now()
    with ctx.db.connect() as conn:
        page = queries.latest(conn, user, now, paging)
    return Page[LatestPoint](
        items=[LatestPoint(**point) for point in page.items], total=page.total, limit=page.limit, offset=page.offset
    )


# --- meter changes -----------------------------------------------------------------------------

METER_CHANGE_EXAMPLES = {
    "swap": {
        "summary": "A new meter starting at 0 m3",
        "value": {"ts": "2026-11-28T12:00:00Z", "old_final_m3": 183950.2, "new_base_m3": 0.0, "note": "meter replaced"},
    }
}


@router.post(
    "/api/v1/points/{code}/meter-changes",
    response_model=MeterChangeOut,
    status_code=201,
    summary="Record a flowmeter swap or re-based totalizer",
    responses={**error_responses(401, 404, 409, 422), 409: {"description": "A change at that ts is already recorded"}},
)
def post_meter_change(
    code: str,
    change: Annotated[MeterChangeIn, Body(openapi_examples=METER_CHANGE_EXAMPLES)],
    ctx: Ctx,
    user: CurrentUser,
) -> MeterChangeOut:
    """Record a flowmeter swap (or re-based totalizer) so that volumes stay right across it."""
    now = ctx.clock.now()
    if change.ts > now + timedelta(seconds=ctx.settings.future_tolerance_s):
        raise ApiError(422, f"ts {iso_z(change.ts)} está en el futuro; registre el cambio de medidor una vez hecho")
    try:
        with ctx.db.transaction() as conn:
            point = visible_point(conn, user, code)
            row = queries.record_meter_change(conn, point, change.model_dump(), user.username, now)
    except IntegrityError:
        raise ApiError(
            409, f"ya hay un cambio de medidor del punto {code!r} registrado a las {iso_z(change.ts)}"
        ) from None
    return MeterChangeOut(**row)


@router.get(
    "/api/v1/points/{code}/meter-changes",
    response_model=Page[MeterChangeOut],
    summary="A point's recorded meter swaps, oldest first",
    responses=error_responses(401, 404, 422),
)
def get_meter_changes(code: str, ctx: Ctx, user: CurrentUser, paging: Paging) -> Page[MeterChangeOut]:
    """The point's recorded meter swaps, oldest first."""
    with ctx.db.connect() as conn:
        point = visible_point(conn, user, code)
        page = queries.meter_changes(conn, point["id"], paging)
    return Page[MeterChangeOut](
        items=[MeterChangeOut(**row) for row in page.items], total=page.total, limit=page.limit, offset=page.offset
    )


# --- hourly summaries --------------------------------------------------------------------------


def _count(ctx: AppContext, table: str) -> Callable[[], list[tuple[list[str], float]]]:
    def sample() -> list[tuple[list[str], float]]:
        with ctx.db.connect() as conn:
            return [([], float(conn.fetchval(f"SELECT COUNT(*) FROM {table}")))]

    return sample


def setup(ctx: AppContext) -> None:
    """Publish how many stale hour runs wait for the rollup worker, how many changed ones
    wait for their taker (compliance), and how many marks wait for the alerts role: each
    should stay near zero. On PostgreSQL, build the group commit that stores a fleet's small
    batches together."""
    ctx.ingest_groups = uplink_api.group_commit(ctx)
    ctx.metrics.add_gauges(
        "caudal_rollup_pending_marks",
        "Runs of hours whose hourly summaries wait for a refresh",
        [],
        _count(ctx, "rollup_pending"),
    )
    ctx.metrics.add_gauges(
        "caudal_hours_changed_waiting",
        "Runs of hours with new readings not yet taken by compliance (grows while the compliance worker is stopped)",
        [],
        _count(ctx, "hours_changed"),
    )
    ctx.metrics.add_gauges(
        "caudal_alert_pending_marks",
        "Marks (a point written by a batch) waiting for the alerts role",
        [],
        _count(ctx, "alert_pending"),
    )


def workers(ctx: AppContext) -> list[Worker]:
    """The rollup worker, which keeps the hourly summaries behind ingest."""
    return [rollup_worker(ctx)]
