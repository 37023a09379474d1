"""What both stand-ins share: the request log, the fault queue, the admin routes, the runner."""

from __future__ import annotations

import asyncio
import copy
import json
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from typing import Any, TypedDict, TypeVar, Unpack

import typer
from aiohttp import web

import protocols.cli_es  # noqa: F401  (Typer's own words in Spanish)
from compliance.dga.rut import InvalidRut, normalize_rut
from protocols.clock import Clock, SystemClock

HIDDEN = "***"
HIDDEN_KEYS = frozenset({"password", "authorization"})


def hide_secrets(value: Any) -> Any:
    """A copy with passwords and bearer tokens masked (what the admin log shows)."""
    if isinstance(value, dict):
        return {k: HIDDEN if k.lower() in HIDDEN_KEYS else hide_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [hide_secrets(v) for v in value]
    return copy.copy(value)


def parse_rut(text: str, option: str) -> str:
    """A RUT typed on the command line, normalised; a bad one is a usage error naming ``option``."""
    try:
        return normalize_rut(text)
    except InvalidRut as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None


class StandInBase:
    """A request log, a queue of faults to inject, and the admin routes ``/_faults``, ``/_received``."""

    fault_names: frozenset[str] = frozenset()

    def __init__(self, clock: Clock, hang_s: float) -> None:
        self.clock = clock
        self.hang_s = hang_s
        self.received: list[dict[str, Any]] = []
        self.faults: deque[str] = deque()
        self.url = ""
        self._closing = asyncio.Event()

    def app(self) -> web.Application:
        """The regulator's routes and :meth:`add_admin_routes` (each stand-in makes its own)."""
        raise NotImplementedError

    def add_admin_routes(self, app: web.Application) -> None:
        app.router.add_post("/_faults", self._post_faults)
        app.router.add_get("/_received", self._get_received)

    def queue_faults(self, *faults: str) -> None:
        """Make the next requests (one fault each, in order) misbehave."""
        unknown = [f for f in faults if f not in self.fault_names]
        if unknown:
            raise ValueError(f"falla(s) desconocida(s) {unknown}; las conocidas: {sorted(self.fault_names)}")
        self.faults.extend(faults)

    def next_fault(self) -> str | None:
        return self.faults.popleft() if self.faults else None

    async def record(self, request: web.Request) -> Any | None:
        """Log the request and return its JSON body (``None`` when it is not JSON)."""
        text = await request.text()
        try:
            body = json.loads(text) if text else None
        except ValueError:
            body = None
        self.received.append(
            {
                "at": self.clock.now().isoformat(),
                "method": request.method,
                "path": request.path,
                "query": dict(request.query),
                "headers": {k: v for k, v in request.headers.items()},
                "body": body if body is not None else text,
            }
        )
        return body

    async def hang(self) -> None:
        """Never answer (until the client gives up or the stand-in closes)."""
        try:
            await asyncio.wait_for(self._closing.wait(), self.hang_s)
        except TimeoutError:
            pass

    def close(self) -> None:
        self._closing.set()

    async def _post_faults(self, request: web.Request) -> web.Response:
        body = await request.json()
        faults = body.get("faults") if isinstance(body, dict) else None
        if not isinstance(faults, list) or not all(isinstance(f, str) for f in faults):
            return web.json_response({"message": 'se esperaba {"faults": ["timeout", ...]}'}, status=400)
        try:
            self.queue_faults(*faults)
        except ValueError as exc:
            return web.json_response({"message": str(exc)}, status=400)
        return web.json_response({"queued": list(self.faults)})

    async def _get_received(self, request: web.Request) -> web.Response:
        return web.json_response([hide_secrets(r) for r in self.received])


def drop_connection(request: web.Request) -> None:
    """Cut the connection without a reply (the "reply lost" fault)."""
    if request.transport is not None:
        request.transport.abort()


@asynccontextmanager
async def serve(app: web.Application, stand_in: StandInBase, host: str, port: int) -> AsyncIterator[str]:
    """Run ``app`` on ``host:port`` (0 = any free port) and yield its base URL."""
    runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0]
        stand_in.url = f"http://{bound[0]}:{bound[1]}"
        yield stand_in.url
    finally:
        stand_in.close()
        await runner.cleanup()


S = TypeVar("S", bound=StandInBase)


class Serving(TypedDict, total=False):
    """How a stand-in is run: ``clock`` (the system's), ``host`` (127.0.0.1), ``port`` (0 picks a free
    one) and ``hang_s`` (60: how long the "timeout" fault holds a request); defaults in brackets."""

    clock: Clock
    host: str
    port: int
    hang_s: float


@asynccontextmanager
async def run_stand_in(build: Callable[[Clock, float], S], **serving: Unpack[Serving]) -> AsyncIterator[S]:
    """Serve the stand-in ``build(clock, hang_s)`` makes; yields it with ``.url`` set."""
    stand_in = build(serving.get("clock") or SystemClock(), serving.get("hang_s", 60.0))
    async with serve(stand_in.app(), stand_in, serving.get("host", "127.0.0.1"), serving.get("port", 0)):
        yield stand_in


def serve_until_interrupted(serving: AbstractAsyncContextManager[StandInBase], name: str, holds: str) -> None:
    """Run a stand-in from its command until Ctrl-C, first printing where it listens."""

    async def main() -> None:
        async with serving as stand_in:
            print(f"{name} en {stand_in.url} ({holds})", flush=True)
            await asyncio.Event().wait()

    with suppress(KeyboardInterrupt):
        asyncio.run(main())
