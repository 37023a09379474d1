"""``/api/v1/gateways`` (administrators): gateways, their points and tokens."""

from __future__ import annotations

from fastapi import APIRouter

from central.core.gateways.models import GatewayCreate, GatewayInfo, GatewayPointsUpdate, GatewayToken, NewGateway
from central.core.gateways.service import (
    create_gateway,
    gateway_info,
    list_gateways,
    revoke_gateway,
    rotate_gateway_token,
    set_gateway_points,
)
from central.core.routes import read
from central.deps import AdminUser, Ctx
from central.errors import error_responses
from central.pagination import Page, Paging

router = APIRouter(prefix="/api/v1/gateways", tags=["gateways"], responses=error_responses(401, 403))


@router.get("", summary="List gateways with their health")
def get_gateways(admin: AdminUser, ctx: Ctx, paging: Paging) -> Page[GatewayInfo]:
    return read(ctx, list_gateways, paging, ctx.clock.now(), ctx.settings.gateway_offline_after_s)


@router.post(
    "",
    status_code=201,
    summary="Register a gateway and its points; answers its token once",
    responses=error_responses(409),
)
def post_gateway(body: GatewayCreate, admin: AdminUser, ctx: Ctx) -> NewGateway:
    """A point already reported by another gateway is a 409 naming that gateway."""
    now = ctx.clock.now()
    with ctx.db.transaction() as conn:
        gateway, token = create_gateway(conn, body.name, body.points, admin.username, now)
        info = gateway_info(conn, gateway.name, now, ctx.settings.gateway_offline_after_s)
    return NewGateway(**info.model_dump(), token=token)


@router.get(
    "/{name}", summary="One gateway: points, last seen, clock, backlog, online/offline", responses=error_responses(404)
)
def get_gateway(name: str, admin: AdminUser, ctx: Ctx) -> GatewayInfo:
    return read(ctx, gateway_info, name, ctx.clock.now(), ctx.settings.gateway_offline_after_s)


@router.patch("/{name}", summary="Replace the points a gateway reports", responses=error_responses(404, 409))
def patch_gateway(name: str, body: GatewayPointsUpdate, admin: AdminUser, ctx: Ctx) -> GatewayInfo:
    now = ctx.clock.now()
    with ctx.db.transaction() as conn:
        set_gateway_points(conn, name, body.points, admin.username, now)
        return gateway_info(conn, name, now, ctx.settings.gateway_offline_after_s)


@router.post(
    "/{name}/rotate-token",
    summary="Issue a new token; the old one stops working at once",
    responses=error_responses(404),
)
def post_rotate_token(name: str, admin: AdminUser, ctx: Ctx) -> GatewayToken:
    """Also reinstates a revoked gateway (with the new token)."""
    now = ctx.clock.now()
    with ctx.db.transaction() as conn:
        token = rotate_gateway_token(conn, name, admin.username, now)
    return GatewayToken(name=name, token=token, token_created_at=now)


@router.post("/{name}/revoke", summary="Refuse the gateway's token from now on", responses=error_responses(404))
def post_revoke(name: str, admin: AdminUser, ctx: Ctx) -> GatewayInfo:
    now = ctx.clock.now()
    with ctx.db.transaction() as conn:
        revoke_gateway(conn, name, admin.username, now)
        return gateway_info(conn, name, now, ctx.settings.gateway_offline_after_s)
