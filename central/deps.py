"""Short dependency aliases for routes: ``ctx: Ctx``, ``user: CurrentUser``, ``admin: AdminUser``..."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from central.context import AppContext
from central.core.auth.models import Gateway, User
from central.core.auth.service import gateway_for_token, user_for_token
from central.db import Connection, Database
from central.errors import ApiError
from central.query_check import check_query

_bearer = HTTPBearer(auto_error=False, description="A session token from /api/v1/auth/login or a personal token")
_gateway_bearer = HTTPBearer(auto_error=False, scheme_name="GatewayToken", description="The gateway's token")


async def get_ctx(request: Request) -> AppContext:
    """``async`` because it does no I/O: FastAPI runs a plain ``def`` dependency in the
    thread pool, a round trip between threads on every request for nothing."""
    return request.app.state.ctx


Ctx = Annotated[AppContext, Depends(get_ctx)]

GatewayCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_gateway_bearer)]
"""What a gateway sent as its bearer token. The ingest route's only dependency: it checks the
token with :func:`gateway_of` in the same worker-thread trip as the batch (one trip through
the thread pool per upload), and each dependency costs FastAPI's resolution on every batch."""

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


async def gateway_credentials(request: Request) -> HTTPAuthorizationCredentials | None:
    """:data:`GatewayCredentials` read as the dependency reads them, for a route served
    without FastAPI's dependency resolution (the ingest route, see ``central.telemetry.uplink.api``)."""
    return await _gateway_bearer(request)


def bearer_token(credentials: HTTPAuthorizationCredentials | None) -> str:
    """The bearer token sent, or 401."""
    if credentials is None or not credentials.credentials:
        raise ApiError(401, "falta el token (Authorization: Bearer <token>)", headers=_CHALLENGE)
    return credentials.credentials


def current_user(
    request: Request, ctx: Ctx, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> User:
    """The person whose token this is (401 otherwise); then the query parameters are checked,
    so that a stranger's request is a 401 whatever it asks (:mod:`central.query_check`)."""
    token = bearer_token(credentials)
    with ctx.db.connect() as conn:  # autocommit: a read and, once a minute, one UPDATE; no BEGIN and COMMIT trips
        user = user_for_token(conn, token, ctx.clock.now())
    if user is None:
        raise ApiError(401, "token no válido, vencido o revocado", headers=_CHALLENGE)
    check_query(request)
    return user


async def current_admin(user: Annotated[User, Depends(current_user)]) -> User:
    if not user.is_admin:
        raise ApiError(403, "esto requiere un administrador")
    return user


async def gateway_token(credentials: GatewayCredentials) -> str:
    """The gateway's bearer token as sent (401 if there is none)."""
    return bearer_token(credentials)


def authenticated_gateway(db: Database, token: str) -> Gateway:
    """The gateway whose token this is; 401 for an unknown or revoked one."""
    with db.connect() as conn:
        return gateway_of(conn, token)


def gateway_of(conn: Connection, token: str) -> Gateway:
    """:func:`authenticated_gateway` on a connection the caller holds (ingest checks the token
    in the batch's own transaction: one connection from the pool per upload)."""
    return known_gateway(gateway_for_token(conn, token))


def known_gateway(gateway: Gateway | None) -> Gateway:
    """The gateway a token was found to be, or 401 for none (unknown or revoked): the answer
    whether the token was looked up alone or with a group's (ingest's group commit)."""
    if gateway is None:
        raise ApiError(401, "token de gateway no válido o revocado", headers=_CHALLENGE)
    return gateway


def current_gateway(request: Request, ctx: Ctx, token: Annotated[str, Depends(gateway_token)]) -> Gateway:
    """The gateway whose token this is (401 otherwise), then the query parameters checked."""
    gateway = authenticated_gateway(ctx.db, token)
    check_query(request)
    return gateway


CurrentUser = Annotated[User, Depends(current_user)]
AdminUser = Annotated[User, Depends(current_admin)]
CurrentGateway = Annotated[Gateway, Depends(current_gateway)]
