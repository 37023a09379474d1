"""``/api/v1/auth``: log in for a session token, log out to revoke it."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.security.utils import get_authorization_scheme_param

from central.core.auth.models import IssuedSession, LoginRequest
from central.core.auth.service import login, logout
from central.core.routes import write
from central.deps import Ctx, CurrentUser
from central.errors import ApiError, error_responses

# A wrong password (login) or token (logout) is a 401.
router = APIRouter(prefix="/api/v1/auth", tags=["auth"], responses=error_responses(401))

LOGIN_FAILED = "usuario o contraseña incorrectos"


def client_address(request: Request) -> str:
    """Where the request comes from: behind nginx, the address it forwards (uvicorn runs
    with proxy headers, trusting them only from the addresses it is told to)."""
    return request.client.host if request.client else "unknown"


@router.post(
    "/login", summary="Log in: exchange a username and password for a session token", responses=error_responses(429)
)
def login_route(body: LoginRequest, request: Request, ctx: Ctx) -> IssuedSession:
    """The token expires after the installation's session lifetime. Any wrong username or
    password gets the same 401; repeated failures lock that username, or the client address
    they come from, for a while (429)."""
    ttl = timedelta(minutes=ctx.settings.session_ttl_minutes)
    issued = login(ctx.db, body, client_address(request), ttl, ctx.clock.now())
    if issued is None:
        raise ApiError(401, LOGIN_FAILED)
    return issued


@router.post("/logout", status_code=204, summary="Log out: revoke the token this request presents")
def logout_route(user: CurrentUser, request: Request, ctx: Ctx) -> None:
    _, token = get_authorization_scheme_param(request.headers.get("Authorization"))
    write(ctx, logout, token, ctx.clock.now())
