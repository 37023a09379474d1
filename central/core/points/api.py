"""``/api/v1/points``: catchment points and who may see them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from central.core.points.models import Point, PointCreate, PointKind, PointStatus, PointUpdate
from central.core.points.service import (
    create_point,
    delete_point,
    get_point,
    grant_point,
    list_points,
    point_usernames,
    revoke_point,
    update_point,
)
from central.core.routes import read, write
from central.deps import AdminUser, Ctx, CurrentUser
from central.errors import error_responses
from central.pagination import Page, Paging

router = APIRouter(prefix="/api/v1/points", tags=["points"], responses=error_responses(401))

StatusFilter = Annotated[PointStatus | None, Query(description="Only points with this status")]
KindFilter = Annotated[PointKind | None, Query(description="Only points of this kind")]


@router.get("", summary="List the points you may see")
def get_points(
    user: CurrentUser, ctx: Ctx, paging: Paging, status: StatusFilter = None, kind: KindFilter = None
) -> Page[Point]:
    return read(ctx, list_points, user, paging, status=status, kind=kind)


@router.post("", status_code=201, summary="Create a point (administrators)", responses=error_responses(403, 409))
def post_point(body: PointCreate, admin: AdminUser, ctx: Ctx) -> Point:
    return write(ctx, create_point, body, admin.username, ctx.clock.now())


@router.get("/{code}", summary="One point (404 if it does not exist or is not yours)", responses=error_responses(404))
def get_one_point(code: str, user: CurrentUser, ctx: Ctx) -> Point:
    return read(ctx, get_point, user, code)


@router.patch(
    "/{code}", summary="Change a point; its code never changes (administrators)", responses=error_responses(403, 404)
)
def patch_point(code: str, body: PointUpdate, admin: AdminUser, ctx: Ctx) -> Point:
    return write(ctx, update_point, code, body, admin.username, ctx.clock.now())


@router.delete(
    "/{code}",
    status_code=204,
    summary="Delete a point without recorded data (administrators)",
    responses=error_responses(403, 404, 409),
)
def delete_one_point(code: str, admin: AdminUser, ctx: Ctx) -> None:
    """A point with readings or submissions is kept (409): set its status to inactive instead."""
    write(ctx, delete_point, code, admin.username, ctx.clock.now())


@router.get(
    "/{code}/users", summary="Who has been granted this point (administrators)", responses=error_responses(403, 404)
)
def get_point_users(code: str, admin: AdminUser, ctx: Ctx, paging: Paging) -> Page[str]:
    return read(ctx, point_usernames, code, paging)


@router.put(
    "/{code}/users/{username}",
    status_code=204,
    summary="Let a user see this point (administrators)",
    responses=error_responses(403, 404),
)
def put_point_user(code: str, username: str, admin: AdminUser, ctx: Ctx) -> None:
    write(ctx, grant_point, code, username, admin.username, ctx.clock.now())


@router.delete(
    "/{code}/users/{username}",
    status_code=204,
    summary="Stop a user seeing this point (administrators)",
    responses=error_responses(403, 404),
)
def delete_point_user(code: str, username: str, admin: AdminUser, ctx: Ctx) -> None:
    write(ctx, revoke_point, code, username, admin.username, ctx.clock.now())
