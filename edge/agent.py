"""The edge agent: buffer, bus actors, poller and uploader wired under one owner.

Lifetimes, outermost first: the buffer (opened once; reconnects of buses or of the uplink
and configuration reloads never touch it, docs/meters.md §5), then the bus actors, then the
uploader, then the poller. On stop they close in reverse order: the poller finishes the tick
in progress and records it; the uploader gets a bounded time to send what is pending
(:mod:`edge.flush`); then the links close, each wait bounded before anything still running
is cancelled. A reload (:mod:`edge.reload`) swaps buses and schedule in between.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Coroutine
from contextlib import suppress
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

from edge.buffer import Buffer
from edge.clocksync import kernel_clock_synced
from edge.config import SiteConfig
from edge.flush import FLUSH_S, TrackedTransport, final_flush
from edge.http import HttpTransport
from edge.links import SHUTDOWN_WAIT_S, BusLinks
from edge.managed import ConfigSync, stored_central
from edge.poller import Poller
from edge.reload import Reloader, log_config_warnings
from edge.state import AgentState, DeviceStatus, state_path, write_state
from edge.systemd import Notifier
from edge.uploader import Uploader
from protocols.clock import Clock

log = logging.getLogger(__name__)

T = TypeVar("T")


class AgentError(RuntimeError):
    """The agent cannot start (unreadable token, buffer in use...)."""


def agent_version() -> str:
    try:
        return metadata.version("caudal")
    except metadata.PackageNotFoundError:
        return "unknown"


def read_token(path: Path) -> str:
    """The gateway's bearer token; a missing or empty file stops the agent before it opens anything."""
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise AgentError(f"no se puede leer gateway.token_file {path}: {exc.strerror or exc}") from exc
    if not token:
        raise AgentError(f"gateway.token_file {path} está vacío")
    return token


class StatePublisher:
    """Builds the state file from the live objects, for ``caudal edge status``."""

    def __init__(self, path: Path, poller: Poller, uploader: Uploader, started_at: datetime, clock: Clock) -> None:
        self.path = path
        self.poller = poller
        self.uploader = uploader
        self.started_at = started_at
        self.clock = clock
        self.clock_synced = True
        self.failing = False
        self.sync: ConfigSync | None = None

    def publish(self) -> None:
        """Write the state file; a failure (a full disk) is logged when it starts and when it ends,
        not every cycle."""
        try:
            write_state(self.path, self.snapshot())
        except OSError as exc:
            if not self.failing:
                log.warning(
                    "no se puede escribir el archivo de estado %s: %s; caudal edge status muestra el último"
                    " escrito hasta que esto se resuelva",
                    self.path,
                    exc.strerror or exc,
                )
            self.failing = True
            return
        if self.failing:
            log.info("archivo de estado %s escrito de nuevo", self.path)
        self.failing = False

    def snapshot(self) -> AgentState:
        devices = [
            DeviceStatus(name=d.name, bus=d.config.bus, point=d.config.point, **vars(d.counters))
            for d in self.poller.devices
        ]
        return AgentState(
            pid=os.getpid(),
            started_at=self.started_at,
            updated_at=self.clock.now(),
            cycles=self.poller.cycles,
            clock_synced=self.clock_synced,
            overruns=dict(self.poller.overruns),
            last_upload=self.uploader.state.last_success,
            uploaded_total=self.uploader.state.uploaded_total,
            uploader_error=self.uploader.state.stopped_reason
            or self.uploader.state.held
            or self.uploader.state.last_error,
            devices=devices,
            config_source=None if self.sync is None else ("central" if self.sync.central else "local"),
            config_version=None if self.sync is None else self.sync.running_version,
            config_published=None if self.sync is None else self.sync.published_version,
            config_result=None if self.sync is None else self.sync.result,
        )


async def run_agent(
    config: SiteConfig,
    clock: Clock,
    stop: asyncio.Event,
    *,
    config_path: Path | None = None,
    reload: asyncio.Event | None = None,
    notifier: Notifier | None = None,
    clock_synced: Callable[[], bool] = kernel_clock_synced,
    flush_s: float = FLUSH_S,
) -> None:
    """Poll, buffer and upload until ``stop`` is set; the cycle in progress is finished first,
    then what is pending gets up to ``flush_s`` seconds to reach the server.

    Each time ``reload`` is set, ``config_path`` (the file ``config`` came from) is re-read and
    applied (:mod:`edge.reload`).
    """
    if reload is not None and config_path is None:
        raise ValueError("run_agent: reload needs the config_path to re-read")
    notifier = notifier or Notifier()
    gateway = config.gateway
    token = read_token(gateway.token_file)
    log_config_warnings(config, notifier)
    stored = stored_central(config) if gateway.config_source == "central" else None
    if stored is not None:
        log.info("corriendo la versión %d de la configuración central hasta que el servidor responda", stored[0])
        config = stored[2]
    with Buffer.open(gateway.buffer_path, gateway.buffer_max_mb) as buffer:
        parts = _Parts(config, clock, buffer, token, notifier, clock_synced, config_path)
        if stored is not None:
            parts.sync.running_version, parts.sync.running_document = stored[0], stored[1]
        await parts.run(stop, reload, flush_s)


class _Parts:
    """The running pieces of one agent, built in start order, for :func:`run_agent` to run and stop."""

    def __init__(
        self,
        config: SiteConfig,
        clock: Clock,
        buffer: Buffer,
        token: str,
        notifier: Notifier,
        clock_synced: Callable[[], bool],
        path: Path | None,
    ) -> None:
        self.config, self.notifier = config, notifier
        self.synced = _SyncWatch(clock_synced)
        self.transport = TrackedTransport(HttpTransport(ca_bundle=config.gateway.ca_bundle))
        self.uploader = _uploader(config, buffer, token, clock, lambda: self.synced.last, self.transport)
        self.links = BusLinks(clock)
        self.links.start(config.buses)
        self.poller = Poller(config, self.links.actors, clock, sink=buffer.append, clock_synced=self.synced)
        self.publisher = StatePublisher(
            state_path(Path(config.gateway.buffer_path)), self.poller, self.uploader, clock.now(), clock
        )
        self.poller.on_cycle = self.cycle_done
        self.reloader = Reloader(
            config, path, links=self.links, poller=self.poller, uploader=self.uploader, notifier=notifier
        )
        self.sync = ConfigSync(site=config, token=token, reloader=self.reloader, poller=self.poller)
        self.reloader.overlay = self.keep_central_devices
        self.uploader.on_config_version = self.sync.offer
        self.uploader.config_status = self.sync.status
        self.publisher.sync = self.sync

    def keep_central_devices(self, wanted: SiteConfig) -> SiteConfig:
        """A SIGHUP reload re-reads the local file; while a central version runs, its buses and devices stay."""
        if self.sync.central and self.sync.running_version is not None:
            return wanted.model_copy(
                update={"buses": self.reloader.config.buses, "devices": self.reloader.config.devices}
            )
        return wanted

    def cycle_done(self) -> None:
        self.notifier.watchdog()
        self.sync.cycle_done()
        self.publisher.clock_synced = self.synced.last
        self.publisher.publish()
        self.uploader.wake()

    async def run(self, stop: asyncio.Event, reload: asyncio.Event | None, flush_s: float) -> None:
        upload_stop = asyncio.Event()
        uploading = asyncio.create_task(self.uploader.run(upload_stop), name="uploader")
        helpers = [
            uploading,
            asyncio.create_task(self.links.watch(), name="buses"),
            asyncio.create_task(self.sync.run(), name="configuration"),
        ]
        if reload is not None:
            helpers.append(asyncio.create_task(self.reloader.serve(reload), name="reload"))
        gateway = self.config.gateway
        try:
            self.notifier.ready()
            log.info(
                "agente %s iniciado: %d buses, %d equipos", gateway.id, len(self.config.buses), len(self.config.devices)
            )
            await supervised(self.poller.run(stop), helpers)
        finally:
            self.notifier.stopping()
            await self.shut_down(helpers, uploading, upload_stop, flush_s)
            log.info("agente %s detenido tras %d ciclos de lectura", gateway.id, self.poller.cycles)

    async def shut_down(
        self, helpers: list[asyncio.Task], uploading: asyncio.Task[None], upload_stop: asyncio.Event, flush_s: float
    ) -> None:
        """Reverse start order: a reload in progress is cancelled, the uploader flushes, the links close."""
        others = [task for task in helpers if task is not uploading]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        await final_flush(self.uploader, self.transport, uploading, upload_stop, flush_s)
        await self.links.close(SHUTDOWN_WAIT_S)
        self.publisher.publish()


def _uploader(
    config: SiteConfig,
    buffer: Buffer,
    token: str,
    clock: Clock,
    synced: Callable[[], bool],
    transport: TrackedTransport,
) -> Uploader:
    gateway = config.gateway
    return Uploader(
        gateway=gateway.id,
        central_url=gateway.central_url,
        token=token,
        buffer=buffer,
        clock=clock,
        version=agent_version(),
        heartbeat_s=gateway.heartbeat_s,
        clock_synced=synced,
        transport=transport,
    )


class _SyncWatch:
    """Asks the clock-sync check and logs when the answer changes. It asks once at start, so the
    first heartbeat (sent before the first poll) reports the clock the agent sees, not a default."""

    def __init__(self, check: Callable[[], bool]) -> None:
        self.check = check
        self.last = True
        self()

    def __call__(self) -> bool:
        synced = self.check()
        if synced != self.last:
            if synced:
                log.info("reloj del sistema sincronizado")
            else:
                log.warning("reloj del sistema NO sincronizado: las lecturas se marcan clock_unsynced")
        self.last = synced
        return synced


async def supervised(main: Coroutine[Any, Any, T], helpers: list[asyncio.Task]) -> T:
    """Run ``main``; a helper task that dies ends the agent (systemd restarts it) instead of idling."""
    main_task = asyncio.ensure_future(main)
    done, _ = await asyncio.wait({main_task, *helpers}, return_when=asyncio.FIRST_COMPLETED)
    if main_task in done:
        return main_task.result()
    main_task.cancel()
    with suppress(asyncio.CancelledError):
        await main_task
    failed = next(task for task in done)
    cause = None if failed.cancelled() else failed.exception()
    raise AgentError(f"la tarea {failed.get_name()} terminó inesperadamente: {cause or 'sin error'}") from cause
