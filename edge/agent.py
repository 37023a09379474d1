"""The edge agent: buffer, bus actors, poller and uploader wired under one owner.

Lifetimes, outermost first: the buffer (opened once; reconnects of buses or of the uplink
never touch it, field-notes item 7), then the bus actors and the uploader, then the poller.
On stop the poller finishes the tick in progress and records it, then the links and the
uploader are stopped, with a bounded wait before anything still running is cancelled.
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

from edge.buffer import Buffer, PolledReading
from edge.bus import BusActor
from edge.clocksync import kernel_clock_synced
from edge.config import SiteConfig
from edge.poller import Poller
from edge.state import AgentState, DeviceStatus, state_path, write_state
from edge.systemd import Notifier
from edge.uploader import Uploader
from protocols.clock import Clock

log = logging.getLogger(__name__)

SHUTDOWN_WAIT_S = 10.0
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
        raise AgentError(f"cannot read gateway.token_file {path}: {exc.strerror or exc}") from exc
    if not token:
        raise AgentError(f"gateway.token_file {path} is empty")
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

    def publish(self) -> None:
        try:
            write_state(self.path, self.snapshot())
        except OSError as exc:
            log.warning("cannot write the state file %s: %s", self.path, exc)

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
            uploader_error=self.uploader.state.stopped_reason or self.uploader.state.last_error,
            devices=devices,
        )


async def run_agent(
    config: SiteConfig,
    clock: Clock,
    stop: asyncio.Event,
    *,
    notifier: Notifier | None = None,
    clock_synced: Callable[[], bool] = kernel_clock_synced,
) -> None:
    """Poll, buffer and upload until ``stop`` is set; the cycle in progress is finished first.

    The last cycle's readings may stay in the buffer (the uploader stops with the poller);
    they go out on the next start, with their original timestamps.
    """
    notifier = notifier or Notifier()
    gateway = config.gateway
    token = read_token(gateway.token_file)
    for warning in config.warnings():
        log.warning("config: %s", warning)
    _check_watchdog(config, notifier.watchdog_s())
    with Buffer.open(gateway.buffer_path, gateway.buffer_max_mb) as buffer:
        await _run_parts(config, clock, stop, buffer=buffer, token=token, notifier=notifier, clock_synced=clock_synced)


async def _run_parts(
    config: SiteConfig, clock: Clock, stop: asyncio.Event, *,
    buffer: Buffer, token: str, notifier: Notifier, clock_synced: Callable[[], bool],
) -> None:
    gateway = config.gateway
    buses = {bus.name: BusActor(bus, clock) for bus in config.buses}
    synced = _SyncWatch(clock_synced)
    uploader = _uploader(config, buffer, token, clock, lambda: synced.last)
    poller = Poller(config, buses, clock, sink=buffer.append, clock_synced=synced)
    publisher = StatePublisher(state_path(Path(gateway.buffer_path)), poller, uploader, clock.now(), clock)

    def cycle_done() -> None:
        notifier.watchdog()
        publisher.clock_synced = synced.last
        publisher.publish()
        uploader.wake()

    poller.on_cycle = cycle_done
    links_stop, upload_stop = asyncio.Event(), asyncio.Event()
    tasks = [asyncio.create_task(actor.run(links_stop), name=f"bus-{name}") for name, actor in buses.items()]
    tasks.append(asyncio.create_task(uploader.run(upload_stop), name="uploader"))
    try:
        notifier.ready()
        log.info("agent %s started: %d buses, %d devices", gateway.id, len(buses), len(config.devices))
        await _supervised(poller.run(stop), tasks)
    finally:
        notifier.stopping()
        links_stop.set()
        upload_stop.set()
        await _bounded(tasks, SHUTDOWN_WAIT_S)
        publisher.publish()
        log.info("agent %s stopped after %d poll cycles", gateway.id, poller.cycles)


def _check_watchdog(config: SiteConfig, watchdog_s: float | None) -> None:
    """The watchdog is fed per completed cycle: a shortest interval above WatchdogSec means restarts."""
    shortest = min(device.interval_s for device in config.devices)
    if watchdog_s is not None and shortest >= watchdog_s:
        log.warning(
            "the shortest poll interval (%g s) is not below systemd's WatchdogSec (%g s): "
            "systemd will restart the agent between cycles; raise WatchdogSec", shortest, watchdog_s,
        )


def _uploader(config: SiteConfig, buffer: Buffer, token: str, clock: Clock, synced: Callable[[], bool]) -> Uploader:
    gateway = config.gateway
    return Uploader(
        gateway=gateway.id, central_url=gateway.central_url, token=token, buffer=buffer, clock=clock,
        version=agent_version(), ca_bundle=gateway.ca_bundle, heartbeat_s=gateway.heartbeat_s, clock_synced=synced,
    )


class _SyncWatch:
    """Asks the clock-sync check and logs when the answer changes."""

    def __init__(self, check: Callable[[], bool]) -> None:
        self.check = check
        self.last = True

    def __call__(self) -> bool:
        synced = self.check()
        if synced != self.last:
            if synced:
                log.info("system clock synchronised")
            else:
                log.warning("system clock NOT synchronised: readings are flagged clock_unsynced")
        self.last = synced
        return synced


async def _supervised(main: Coroutine[Any, Any, T], helpers: list[asyncio.Task]) -> T:
    """Run ``main``; a helper task that dies ends the agent (systemd restarts it) instead of idling."""
    main_task = asyncio.ensure_future(main)
    done, _ = await asyncio.wait({main_task, *helpers}, return_when=asyncio.FIRST_COMPLETED)
    if main_task in done:
        return main_task.result()
    main_task.cancel()
    with suppress(asyncio.CancelledError):
        await main_task
    failed = next(task for task in done)
    raise AgentError(f"task {failed.get_name()} ended unexpectedly") from failed.exception()


async def _bounded(tasks: list[asyncio.Task], seconds: float) -> None:
    """Wait up to ``seconds`` for ``tasks`` to finish, then cancel what is left."""
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=seconds)
    for task in pending:
        log.warning("task %s did not stop within %g s; cancelling it", task.get_name(), seconds)
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def poll_once(
    config: SiteConfig, clock: Clock, clock_synced: Callable[[], bool] = kernel_clock_synced
) -> list[PolledReading]:
    """Read every device once and return the readings; nothing is written anywhere."""
    buses = {bus.name: BusActor(bus, clock) for bus in config.buses}
    done = asyncio.Event()
    tasks = [asyncio.create_task(actor.run(done), name=f"bus-{name}") for name, actor in buses.items()]
    try:
        poller = Poller(config, buses, clock, sink=lambda readings: None, clock_synced=clock_synced)
        return await _supervised(poller.poll_all(), tasks)
    finally:
        done.set()
        await _bounded(tasks, SHUTDOWN_WAIT_S)
