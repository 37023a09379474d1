"""What every console page shares: the console object, who is looking, rendering."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from central.context import AppContext
from central.core.auth.models import User
from central.core.auth.service import user_for_token
from central.ui import format as fmt
from central.ui import links
from central.ui.api import ApiRefused, ConsoleApi
from central.ui.session import CSRF_FIELD, csrf_for, csrf_ok, session_token
from central.ui.settings import ConsoleSettings


class LoginNeeded(Exception):
    """No valid session: the page answers with a redirect to the login form."""


class NotAllowed(Exception):
    """A page the person may not see (403) or that is not theirs (404)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Console:
    ctx: AppContext
    api: ConsoleApi
    lights: Callable[..., dict[str, Any]]
    settings: ConsoleSettings
    templates_dir: Path
    templates: Jinja2Templates = field(init=False)

    def __post_init__(self) -> None:
        self.templates = Jinja2Templates(directory=self.templates_dir)
        self.templates.env.filters.update(
            number=fmt.number,
            local_time=fmt.local_time,
            dga_slot=fmt.dga_slot,
            age=fmt.age,
            time=lambda text: fmt.parse_time(text) if text else None,
        )
        self.templates.env.globals.update(report_link=links.report_link, report_formats=links.REPORT_FORMATS)


@dataclass(frozen=True)
class Viewer:
    """The logged-in person looking at a page, with their session token and CSRF token."""

    user: User
    token: str

    @property
    def csrf(self) -> str:
        return csrf_for(self.token)


def console_of(request: Request) -> Console:
    return request.app.state.console


def _user(console: Console, token: str) -> User | None:
    with console.ctx.db.transaction() as conn:
        return user_for_token(conn, token, console.ctx.clock.now())


async def viewer(request: Request) -> Viewer:
    """The person behind the session cookie (the API's own token check), or a redirect to log in."""
    token = session_token(request)
    user = await run_in_threadpool(_user, console_of(request), token) if token else None
    if user is None:
        raise LoginNeeded()
    return Viewer(user=user, token=token)  # type: ignore[arg-type]


async def admin_viewer(who: Annotated[Viewer, Depends(viewer)]) -> Viewer:
    if not who.user.is_admin:
        raise NotAllowed(403, "Esta página es solo para administradores.")
    return who


async def checked_form(request: Request, who: Annotated[Viewer, Depends(viewer)]) -> dict[str, str]:
    """The posted form, after checking its CSRF token against the session's (403 otherwise)."""
    form = {key: str(value) for key, value in (await request.form()).items()}
    if not csrf_ok(who.csrf, form.get(CSRF_FIELD)):
        raise NotAllowed(403, "El formulario venció o no vino de esta consola; recargue la página e intente de nuevo.")
    return form


def content_policy(tile_url: str) -> str:
    """Scripts, styles, forms and frames from this server only; images also from the tile server."""
    parts = urlsplit(tile_url)
    tiles = f" {parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    return (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline';"
        f" img-src 'self' data:{tiles}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )


def render(request: Request, template: str, who: Viewer | None, status: int = 200, **context: Any) -> HTMLResponse:
    console = console_of(request)
    page = console.templates.TemplateResponse(
        request, template, {"who": who, "page": template, **context}, status_code=status
    )
    page.headers["Content-Security-Policy"] = content_policy(console.settings.tile_url)
    page.headers["Referrer-Policy"] = "same-origin"
    return page


async def download(request: Request, who: Viewer, path: str, params: dict[str, str] | None = None) -> Response:
    """A file the API writes (CSV, XLSX), handed over as the API named it."""
    try:
        answer = await console_of(request).api.call("GET", path, who.token, params=params)
    except ApiRefused as refused:
        raise NotAllowed(refused.status, f"No se pudo descargar: {refused.message}") from None
    headers = {key: value for key, value in answer.headers.items() if key.lower() == "content-disposition"}
    return Response(answer.content, media_type=answer.headers.get("content-type"), headers=headers)


Who = Annotated[Viewer, Depends(viewer)]
Admin = Annotated[Viewer, Depends(admin_viewer)]
Form = Annotated[dict[str, str], Depends(checked_form)]
