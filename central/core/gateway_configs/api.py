"""Gateway configurations from the central server (issue 18): versions edited and published by
administrators under ``/api/v1/gateways/{name}/config``; fetched and reported on by the gateway
itself with its token under ``/api/v1/ingest/config`` (the uploads' host and proxies, no new port)."""

from __future__ import annotations

from fastapi import APIRouter

from central.core.gateway_configs.models import (
    ConfigDiff,
    ConfigStatus,
    ConfigVersion,
    ConfigVersionCreate,
    ConfigVersionDetail,
)
from central.core.gateway_configs.service import (
    config_status,
    config_statuses,
    create_version,
    list_versions,
    publish_version,
    published_config,
    version_detail,
    versions_diff,
)
from central.core.routes import read, write
from central.deps import AdminUser, Ctx, CurrentGateway
from central.errors import error_responses
from central.pagination import Page, Paging
from protocols.uplink import CONFIG_PATH, PublishedConfig

# Administrators' routes about one gateway, named in the path.
router = APIRouter(prefix="/api/v1/gateways", tags=["gateways"], responses=error_responses(401, 403, 404))
gateway_router = APIRouter(tags=["ingest"])
fleet_router = APIRouter(prefix="/api/v1/gateway-configs", tags=["gateways"])


@fleet_router.get(
    "",
    summary="Every gateway's configuration mode, running and pending version, last apply result",
    responses=error_responses(401, 403, 422),
)
def get_config_statuses(admin: AdminUser, ctx: Ctx, paging: Paging) -> Page[ConfigStatus]:
    return read(ctx, config_statuses, paging)


@router.get(
    "/{name}/config",
    summary="The gateway's configuration: mode, running and pending version, last result,"
    " agent version, clock offset, backlog, drops",
)
def get_config_status(name: str, admin: AdminUser, ctx: Ctx) -> ConfigStatus:
    return read(ctx, config_status, name)


@router.post("/{name}/config/versions", status_code=201, summary="Store a new configuration version (validated)")
def post_config_version(name: str, body: ConfigVersionCreate, admin: AdminUser, ctx: Ctx) -> ConfigVersionDetail:
    """Validated with the same code as ``caudal edge check``: a 422 lists each problem with its line
    and field, and nothing is stored. Stored is not published: see ``.../publish``."""
    return write(ctx, create_version, name, body, admin.username, ctx.clock.now())


@router.get("/{name}/config/versions", summary="A gateway's configuration versions, newest first")
def get_config_versions(name: str, admin: AdminUser, ctx: Ctx, paging: Paging) -> Page[ConfigVersion]:
    return read(ctx, list_versions, name, paging)


@router.get("/{name}/config/versions/{version}", summary="One version: document and diff from the previous one")
def get_config_version(name: str, version: int, admin: AdminUser, ctx: Ctx) -> ConfigVersionDetail:
    return read(ctx, version_detail, name, version)


@router.get("/{name}/config/versions/{version}/diff/{base}", summary="The diff from version base to this version")
def get_config_diff(name: str, version: int, base: int, admin: AdminUser, ctx: Ctx) -> ConfigDiff:
    return read(ctx, versions_diff, name, base, version)


@router.post("/{name}/config/versions/{version}/publish", summary="Ask the gateway to run this version")
def post_publish(name: str, version: int, admin: AdminUser, ctx: Ctx) -> ConfigVersion:
    """The gateway fetches it at its next upload; its apply result shows in ``GET /api/v1/gateways/{name}``."""
    return write(ctx, publish_version, name, version, admin.username, ctx.clock.now())


@gateway_router.get(CONFIG_PATH, summary="The configuration published for this gateway", responses=error_responses(401))
def get_published_config(ctx: Ctx, gateway: CurrentGateway) -> PublishedConfig:
    return read(ctx, published_config, gateway)
