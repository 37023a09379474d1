"""What gateways call: ingest of a batch of readings and the points a gateway may report.

Alert evaluation plugs in through ``ctx.on_ingest``: a callable (plain or
``async``) taking ``(point_ids, readings)`` — the ids of the points written and the
batch's processed readings (``central.telemetry.processing.Processed``, derived water-table
readings included; when a batch is partly a resend, its already-stored readings are among
them again). It runs when the batch stored something new, after the transaction committed
and after the reply was sent, so the gateway never waits for it; its exceptions are
logged, never returned.

On PostgreSQL a small batch goes through ``ctx.ingest_groups``
(:mod:`central.telemetry.uplink.group_commit`): the ones that arrive while a group is being
stored form the next group, stored in one transaction, each answered on its own.
"""

from __future__ import annotations

import functools
import inspect
import logging
import time
from collections.abc import Sequence

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from central.context import AppContext, OnIngest
from central.core.auth.models import Gateway
from central.deps import (
    Ctx,
    CurrentGateway,
    GatewayCredentials,
    authenticated_gateway,
    bearer_token,
    gateway_credentials,
    known_gateway,
)
from central.errors import ApiError, error_responses, raw_json_body
from central.fastjson import FastJSONResponse
from central.query_check import check_query
from central.telemetry.body import read_body
from central.telemetry.ingest import ingest
from central.telemetry.ingest_group import Outcome, Upload, ingest_group
from central.telemetry.ingest_state import assigned_points
from central.telemetry.parse import BatchRejected
from central.telemetry.processing import Processed
from central.telemetry.uplink.group_commit import GroupCommit
from protocols.uplink import (
    ASSIGNED_POINTS_PATH,
    INGEST_PATH,
    AssignedPoints,
    Batch,
    IngestReply,
)

log = logging.getLogger("caudal.central.telemetry")

router = APIRouter(tags=["telemetry"])

INGEST_EXAMPLES = {
    "readings": {
        "schema": 1,
        "gateway": "gw-norte",
        "sent_at": "2026-11-28T13:00:05Z",
        "readings": [
            {
                "seq": 41,
                "device": "meter-1",
                "point": "OB-0101-12",
                "variable": "flow",
                "ts": "2026-11-28T13:00:00Z",
                "value": 12.4,
                "unit": "L/s",
                "quality": "good",
            },
            {
                "seq": 42,
                "device": "meter-1",
                "point": "OB-0101-12",
                "variable": "totalizer",
                "ts": "2026-11-28T13:00:00Z",
                "value": 183402.7,
                "unit": "m3",
                "quality": "good",
            },
        ],
        "agent": {
            "version": "1.0.0",
            "buffer_depth": 2,
            "oldest_unsent_s": 5.0,
            "dropped_total": 0,
            "clock_synced": True,
        },
    },
    "heartbeat": {"schema": 1, "gateway": "gw-norte", "sent_at": "2026-11-28T13:00:05Z", "readings": []},
}


@router.post(
    INGEST_PATH,
    response_model=IngestReply,
    summary="Store a gateway's batch of readings (or a heartbeat); identity or gzip body",
    openapi_extra=raw_json_body(Batch, INGEST_EXAMPLES),
    responses={
        **error_responses(400, 401, 403, 413, 415, 422),
        403: {
            "description": "A point not assigned to this gateway; nothing stored. The message names"
            " each such point with its devices, details list one {field: point,"
            " problem: CODE} per point"
        },
        422: {"description": "A malformed batch; details name index, seq and field of each reading at fault"},
    },
)
async def post_ingest(request: Request, credentials: GatewayCredentials) -> Response:
    """Store a batch of readings (or a heartbeat: no readings). All or nothing; a batch sent
    twice stores once (idempotent on point, variable and ts) and the reply counts the duplicates."""
    return await _ingest_batch(request, bearer_token(credentials))


INGEST_ROUTE = next(route for route in router.routes if isinstance(route, APIRoute) and route.path == INGEST_PATH)


async def ingest_endpoint(request: Request) -> Response:
    """:func:`post_ingest` without FastAPI's per-request work (matching through the included
    routers, solving the route's dependencies): a fleet's gateways call this route more than
    all the others together. ``create_app`` serves it ahead of the routers (``fast_routes``);
    :data:`INGEST_ROUTE` still documents the route, and the request carries it as its route,
    so the query check and the metrics read what they read on the documented route."""
    request.scope["route"] = INGEST_ROUTE
    return await _ingest_batch(request, bearer_token(await gateway_credentials(request)))


fast_routes = [Route(INGEST_PATH, ingest_endpoint, methods=["POST"])]

GROUP_BODY_BYTES = 64 * 1024
"""A body (as read, gunzipped) up to this size joins a group (:func:`group_commit`): a fleet's
batches of a few dozen readings. A larger one, a backlog, is stored alone in a slot of its
own: a group answers its members together, so they would all wait for its COPY."""


def group_commit(ctx: AppContext) -> GroupCommit | None:
    """On PostgreSQL, the group commit that stores a fleet's small batches together (see
    :mod:`central.telemetry.ingest_group`); SQLite has one writer and stores each alone."""
    if ctx.db.dialect != "postgresql":
        return None

    def store(uploads: list[Upload]) -> list[Outcome]:
        tolerance_s, mark_alerts = _options(ctx)
        return ingest_group(ctx.db, uploads, tolerance_s, mark_alerts=mark_alerts)

    return GroupCommit(store, ctx.ingest_slots, ctx.clock)


def _options(ctx: AppContext) -> tuple[float, bool]:
    """How far ahead a reading may be, and whether ingest marks the points for the alerts role."""
    return ctx.settings.future_tolerance_s, ctx.settings.alert_evaluation == "role"


async def _ingest_batch(request: Request, token: str) -> Response:
    started = time.perf_counter()
    ctx: AppContext = request.app.state.ctx  # not a dependency: each one costs FastAPI's resolution per batch
    try:
        body = await read_body(request, ctx.settings.max_body_bytes)
    except ApiError:
        await run_in_threadpool(authenticated_gateway, ctx.db, token)  # a bad token is a 401 before a 413
        raise
    now = ctx.clock.now()

    def verdict(gateway: Gateway | None) -> Gateway:
        gateway = known_gateway(gateway)  # before a malformed body is refused
        check_query(request)  # after the token, as on every route
        return gateway

    upload = Upload(token, verdict, body, now)
    try:
        if ctx.ingest_groups is not None and len(body) <= GROUP_BODY_BYTES:
            result = await ctx.ingest_groups.ingest(token, upload)
        else:
            tolerance_s, mark_alerts = _options(ctx)
            result = await anyio.to_thread.run_sync(
                functools.partial(ingest, ctx.db, upload.authenticate, body, now, tolerance_s, mark_alerts=mark_alerts),
                limiter=ctx.ingest_slots,  # a fleet's batches beyond these wait their turn, not for the GIL
            )
    except BatchRejected as exc:
        raise ApiError(exc.status, exc.message, details=exc.problems) from None
    ctx.metrics.ingested.inc(result.stored)
    ctx.metrics.ingest_duplicates.inc(result.duplicates)
    ctx.metrics.ingest_seconds.observe(time.perf_counter() - started)
    hook = ctx.on_ingest
    after = None
    if hook is not None and result.stored:
        after = BackgroundTask(_run_hook, hook, result.point_ids, result.readings)
    # IngestReply's shape, encoded once (the model's validation and dump cost more than the encoding)
    return FastJSONResponse(
        {
            "stored": result.stored,
            "duplicates": result.duplicates,
            "server_time": now,
            "config_version": result.config_version,
        },
        background=after,
    )


@router.get(
    ASSIGNED_POINTS_PATH,
    response_model=AssignedPoints,
    summary="The points this gateway may report",
    responses=error_responses(401),
)
def get_assigned_points(ctx: Ctx, gateway: CurrentGateway) -> AssignedPoints:
    """For the gateway's token: its name and the codes of the points assigned to it, so a
    technician's ``caudal edge check --online`` finds a device with a wrong point before the
    server refuses its readings."""
    with ctx.db.connect() as conn:
        codes = sorted(assigned_points(conn, gateway.id))
    return AssignedPoints(gateway=gateway.name, points=codes)


async def _run_hook(hook: OnIngest, point_ids: list[int], readings: Sequence[Processed]) -> None:
    try:
        if inspect.iscoroutinefunction(hook):
            await hook(point_ids, readings)
        else:
            await run_in_threadpool(hook, point_ids, readings)
    except Exception:  # the hook is another domain's code; ingest is already done
        log.exception("falló el hook on_ingest de los puntos %s", point_ids)
