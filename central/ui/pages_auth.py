"""Logging in and out of the console: the API's login and logout behind a form."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from central.core.auth.api import client_address
from central.ui.api import ApiRefused
from central.ui.console import Form as CheckedForm
from central.ui.console import LoginNeeded, NotAllowed, Who, console_of, render, viewer
from central.ui.format import parse_time
from central.ui.session import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    clear_cookie,
    csrf_ok,
    new_login_csrf,
    set_cookie,
)

router = APIRouter(include_in_schema=False)
HOME = "/ui/"
LOGIN = "/ui/login"
LOGIN_MESSAGES = {
    401: "Usuario o contraseña incorrectos.",
    429: "Demasiados intentos fallidos: espere unos minutos antes de intentar de nuevo.",
}


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse(HOME, status_code=303)


def _login_page(request: Request, status: int = 200, error: str | None = None, username: str = "") -> Response:
    token = new_login_csrf()
    response = render(request, "login.html", None, status=status, csrf=token, error=error, username=username)
    set_cookie(response, request, console_of(request).settings, LOGIN_CSRF_COOKIE, token)
    return response


@router.get(LOGIN, response_class=HTMLResponse)
async def login_form(request: Request) -> Response:
    return _login_page(request)


@router.post(LOGIN)
async def login(
    request: Request,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """The API's login; its session token goes into the cookie."""
    if not csrf_ok(request.cookies.get(LOGIN_CSRF_COOKIE), csrf):
        raise NotAllowed(403, "El formulario venció; recargue la página de ingreso.")
    console = console_of(request)
    try:
        response = await console.api.call(
            "POST",
            "/api/v1/auth/login",
            None,
            json={"username": username, "password": password},
            client_address=client_address(request),
        )
    except ApiRefused as refused:
        message = LOGIN_MESSAGES.get(refused.status, "No se pudo ingresar: revise los datos.")
        return _login_page(request, status=refused.status, error=message, username=username)
    session = response.json()
    done = RedirectResponse(HOME, status_code=303)
    lifetime = parse_time(session["expires_at"]) - console.ctx.clock.now()
    set_cookie(
        done, request, console.settings, SESSION_COOKIE, session["access_token"], max_age=int(lifetime.total_seconds())
    )
    clear_cookie(done, request, console.settings, LOGIN_CSRF_COOKIE)
    return done


@router.post("/ui/logout")
async def logout(request: Request, who: Who, form: CheckedForm) -> Response:
    """Revokes the session token (the API's logout), then forgets the cookie."""
    console = console_of(request)
    await console.api.post("/api/v1/auth/logout", who.token)
    done = RedirectResponse(LOGIN, status_code=303)
    clear_cookie(done, request, console.settings, SESSION_COOKIE)
    return done


def install_redirects(app: FastAPI) -> None:
    """A page without a session goes to the login form; a refused one shows why, in Spanish."""

    @app.exception_handler(LoginNeeded)
    async def _login_needed(request: Request, exc: LoginNeeded) -> Response:
        return RedirectResponse(LOGIN, status_code=303)

    @app.exception_handler(NotAllowed)
    async def _not_allowed(request: Request, exc: NotAllowed) -> Response:
        try:
            who = await viewer(request)
        except LoginNeeded:
            who = None
        return render(request, "error.html", who, status=exc.status, message=exc.message)
