"""``/healthz`` (the process answers), ``/readyz`` (the database answers and is migrated), ``/metrics``."""

from __future__ import annotations

from importlib.metadata import version

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from central.db import DatabaseError, pending_migrations
from central.deps import Ctx
from central.errors import ErrorBody, error_response

# The installed distribution's version, from its metadata: the server reports what was
# installed without importing the ``caudal`` command-line package above it.
VERSION = version("caudal")

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process is up")
def healthz(ctx: Ctx) -> dict[str, str]:
    return {"status": "ok", "role": ctx.role, "version": VERSION}


@router.get(
    "/readyz",
    summary="Readiness: the database is reachable and migrated",
    responses={503: {"model": ErrorBody, "description": "Not ready; the message says why"}},
)
def readyz(ctx: Ctx) -> JSONResponse:
    try:
        with ctx.db.connect() as conn:
            conn.fetchval("SELECT 1")
        pending = pending_migrations(ctx.db)
    except DatabaseError as exc:
        return error_response(503, f"database unreachable: {exc}", "not_ready")
    if pending:
        names = ", ".join(f"{m.version:04d}_{m.name}" for m in pending)
        return error_response(503, f"pending migrations: {names} (run caudal central migrate)", "not_ready")
    return JSONResponse({"status": "ready", "role": ctx.role, "database": ctx.db.dialect})


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(ctx: Ctx) -> Response:
    return Response(ctx.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
