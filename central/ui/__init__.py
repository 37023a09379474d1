"""The operator console: Spanish web pages served by the core role at ``/`` and ``/ui/...``.

Server-rendered (Jinja2 templates, a little vanilla JavaScript, no build step); every asset
is a vendored file under ``static/vendor/<package>-<version>/`` with its licence. Pages
read and act through the API's own routes (:mod:`central.ui.api`) with the person's
session token, kept in an HttpOnly cookie; the Resumen, the busiest page, reads the stored
values those routes read in a fixed number of statements (:mod:`central.ui.summary`). Forms
carry a CSRF token.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from central.context import AppContext
from central.ui.api import ConsoleApi
from central.ui.console import Console
from central.ui.settings import ConsoleSettings

HERE = Path(__file__).parent
STATIC_PATH = "/ui/static"
SWAGGER_UI = f"{STATIC_PATH}/vendor/swagger-ui-dist-5.35.0"
REDOC = f"{STATIC_PATH}/vendor/redoc-2.5.2"
# ReDoc styles itself inline and searches in a blob: worker; everything else from this server
# (its footer's logo from cdn.redoc.ly is refused, and ReDoc hides it).
REDOC_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:;"
    " worker-src 'self' blob:; font-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"
)
OAUTH2_REDIRECT = "/docs/oauth2-redirect"
Lights = Callable[[Any, Collection[int] | None, datetime], dict[str, Any]]


def mount(
    app: FastAPI, ctx: AppContext, api_app: FastAPI, lights: Lights, settings: ConsoleSettings | None = None
) -> None:
    """Serve the console on ``app``: its pages, and its static files at ``/ui/static``.

    ``api_app`` answers the console's API requests (every role's routes on ``ctx``);
    ``lights`` gives the compliance semáforo (handed over by the app factory).
    """
    from central.ui import pages, pages_admin, pages_admin_edit, pages_auth, pages_compliance, pages_gateways

    app.state.console = Console(
        ctx=ctx,
        api=ConsoleApi(api_app),
        lights=lights,
        settings=settings or ConsoleSettings.from_env(),
        templates_dir=HERE / "templates",
    )
    for module in (pages_auth, pages, pages_compliance, pages_gateways, pages_admin, pages_admin_edit):
        app.include_router(module.router)
    pages_auth.install_redirects(app)


def mount_static(app: FastAPI) -> None:
    """The console's files at ``/ui/static``, and ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) from
    the vendored bundles, so the API reference opens on a server without Internet access."""
    app.mount(STATIC_PATH, StaticFiles(directory=HERE / "static"), name="ui-static")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="Caudal API",
            swagger_js_url=f"{SWAGGER_UI}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_UI}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_UI}/favicon-32x32.png",
            oauth2_redirect_url=OAUTH2_REDIRECT,
        )

    @app.get(OAUTH2_REDIRECT, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        page = get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="Caudal API",
            redoc_js_url=f"{REDOC}/redoc.standalone.js",
            redoc_favicon_url=f"{SWAGGER_UI}/favicon-32x32.png",
            with_google_fonts=False,
        )
        page.headers["Content-Security-Policy"] = REDOC_POLICY
        return page
