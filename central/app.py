"""The application factory: one FastAPI app per process, serving the routers of its role.

``--role all`` (the default) serves everything on one port; ``core``, ``telemetry`` and
``compliance`` serve one domain each for the modular deployment; ``alerts`` serves only
the health checks and evaluates alerts off the ingest process (``CAUDAL_ALERT_EVALUATION=role``).
Each domain module exposes ``routers`` and may expose ``fast_routes`` (plain Starlette routes served
ahead of every router, for a route whose per-request cost counts; the same path stays documented
by a router's route), ``setup(ctx)`` (metrics, services), ``workers(ctx)``
(background loops run while the app runs, stopped on shutdown) and ``shutdown(ctx)``
(release what ``setup`` started; called in reverse order before the database closes).
Only this module imports ``compliance``, and only by name: its routers for the compliance role,
the console's semáforo, and the registry's regulator names and labels (``AppContext.regulators``,
in every role: the alerts role judges regulator rules without serving compliance).
"""

from __future__ import annotations

import asyncio
import functools
import gc
import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import ModuleType
from typing import Any

from fastapi import Depends, FastAPI

from central import ui
from central.context import AppContext
from central.db import migrate, open_database
from central.errors import install_error_handlers, install_openapi
from central.health import VERSION
from central.health import router as health_router
from central.metrics import RequestMetricsMiddleware
from central.notify.settings import NotifySettings
from central.query_check import reject_unknown_query
from central.settings import Role, Settings
from central.workers import Worker
from protocols.clock import Clock, SystemClock
from protocols.tasks import bounded

log = logging.getLogger("caudal.central")

DOMAINS: dict[str, list[str]] = {
    "core": ["central.core.api", "central.notify.api"],
    "telemetry": ["central.telemetry.api", "central.telemetry.alerts.api"],
    "compliance": ["compliance.api"],
    "alerts": ["central.telemetry.alerts.role"],
}
SHUTDOWN_GRACE_S = 10.0
CONSOLE_ROLES = ("all", "core")  # behind nginx, core answers every path the other roles do not
SEMAFORO = "compliance.semaforo"
REGISTRY = "compliance.registry"  # every regulator's name and label, for the alerts and the console

DESCRIPTION = """Caudal's central API: catchment points, gateways, telemetry, alerts and
regulator (DGA/SMA) compliance. Authenticate with `POST /api/v1/auth/login` and send the
token as `Authorization: Bearer <token>`; gateways use their own token on `/api/v1/ingest`.
Every error answers `{"error": {"status", "code", "message", "details"}}`."""


GC_THRESHOLDS = (50_000, 20, 20)


def settle_heap() -> None:
    """Tune the garbage collector for a long-running server; the process owner (``serve``) calls it.

    A 5,000-reading ingest batch creates some 20,000 short-lived containers (parsed JSON,
    readings, rows). With CPython's default thresholds (700, 10, 10) that is dozens of
    collections per batch, each also walking the app's own long-lived objects: a sizeable
    share of a batch's server time (benchmarks/RESULTS.md, "Figures cited by the code"). Freezing what start-up built (it lives until exit)
    and collecting the young generation every 50,000 allocations instead cut that to a few
    collections per batch. Process-wide, hence not done by :func:`create_app`.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def domain_modules(role: Role) -> list[ModuleType]:
    names = [name for domain, names in DOMAINS.items() if role in ("all", domain) for name in names]
    return [importlib.import_module(name) for name in names]


def create_app(settings: Settings | None = None, *, role: Role = "all", clock: Clock | None = None) -> FastAPI:
    """Build the app: read the settings (a bad one stops the start-up here), open the database,
    migrate it if asked, mount the role's routers."""
    settings = settings or Settings.from_env()
    db = open_database(settings.database_url)
    if settings.auto_migrate:
        migrate(db)
    ctx = AppContext(
        settings=settings,
        db=db,
        clock=clock or SystemClock(),
        role=role,
        notify_settings=NotifySettings.from_env(),
        regulators=importlib.import_module(REGISTRY).labels(),
    )
    modules = domain_modules(role)
    app = FastAPI(
        title="Caudal",
        version=VERSION,
        description=DESCRIPTION,
        lifespan=_lifespan(ctx, modules),
        docs_url=None,
        redoc_url=None,
    )
    app.state.ctx = ctx
    ui.mount_static(app)
    install_error_handlers(app)
    install_openapi(app)
    if role == "core":
        # Behind nginx the three roles answer on one address and core serves /docs there.
        app.openapi = functools.cache(functools.partial(api_document, "all"))  # type: ignore[method-assign]
    app.add_middleware(RequestMetricsMiddleware, metrics=ctx.metrics)
    for module in modules:
        if hasattr(module, "setup"):
            module.setup(ctx)
    _mount(app, modules)
    app.router.routes[:0] = [route for module in modules for route in getattr(module, "fast_routes", ())]
    if role in CONSOLE_ROLES:
        ui.mount(app, ctx, _console_api(ctx), importlib.import_module(SEMAFORO).dga_lights)
    return app


def _console_api(ctx: AppContext) -> FastAPI:
    """Every role's routes on ``ctx``, for the console's in-process API requests: on the core
    role of the modular deployment the console reads telemetry and compliance through the
    same routes (and the same database) as behind nginx."""
    api = FastAPI(title="Caudal", docs_url=None, redoc_url=None, openapi_url=None)
    api.state.ctx = ctx
    install_error_handlers(api)
    _mount(api, domain_modules("all"))
    return api


def api_document(role: Role) -> dict[str, Any]:
    """The OpenAPI document of ``role``'s routes, built from its routers alone (no database).

    The roles are one codebase, so any process can describe another role's paths without
    serving them: the core role documents the whole API (``"all"``), and the nginx routing
    table is rendered from each role's paths (:mod:`central.nginx_routes`).
    """
    app = FastAPI(title="Caudal", version=VERSION, description=DESCRIPTION)
    install_openapi(app)
    _mount(app, domain_modules(role))
    return app.openapi()


def _mount(app: FastAPI, modules: list[ModuleType]) -> None:
    """Include every router; each of their routes refuses query parameters it does not read."""
    checked = [Depends(reject_unknown_query)]
    app.include_router(health_router, dependencies=checked)
    for module in modules:
        for router in module.routers:
            app.include_router(router, dependencies=checked)


def _lifespan(ctx: AppContext, modules: list[ModuleType]):
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        workers: list[Worker] = []
        if ctx.settings.workers:
            workers = [w for m in modules if hasattr(m, "workers") for w in m.workers(ctx)]
        tasks = [asyncio.create_task(worker(stop), name=getattr(worker, "__name__", "worker")) for worker in workers]
        try:
            yield
        finally:
            await _stop_workers(stop, tasks)
            for module in reversed(modules):
                if hasattr(module, "shutdown"):
                    await asyncio.to_thread(module.shutdown, ctx)
            ctx.db.close()

    return lifespan


async def _stop_workers(stop: asyncio.Event, tasks: list[asyncio.Task]) -> None:
    """Ask workers to stop, wait a bounded time, then cancel what is left."""
    stop.set()
    await bounded(tasks, SHUTDOWN_GRACE_S, log)
