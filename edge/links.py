"""The bus actors of a running agent, as a set a configuration reload can change bus by bus.

Field-notes items 1 and 3: a shared port is never closed needlessly. A reload keeps the
actor (open port, pymodbus client, queue) of every bus whose definition did not change. A
changed bus gets a new actor that starts serving only once the old one has served its queue
and closed the port: two owners of one serial port would garble each other's frames. A
removed bus is closed after its queued reads are served. Every actor's task is watched: one
that ends on its own (a bug) ends the agent, so systemd restarts it instead of it idling.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from edge.bus import BusActor
from edge.config import BusConfig
from edge.modbus import ModbusLink
from protocols.clock import Clock
from protocols.tasks import bounded

log = logging.getLogger(__name__)

SHUTDOWN_WAIT_S = 10.0  # how long a stopping task may take before it is cancelled


class LinkFailed(RuntimeError):
    """A bus actor stopped serving although nobody asked it to."""


@dataclass(frozen=True)
class BusChanges:
    """What a reload does to the buses, by name, in configuration order."""

    kept: list[str]
    reopened: list[str]
    closed: list[str]
    opened: list[str]


def bus_changes(running: Sequence[BusConfig], wanted: Sequence[BusConfig]) -> BusChanges:
    """Compare two bus lists by name: an identical definition is kept, anything else reopened."""
    before = {bus.name: bus for bus in running}
    after = {bus.name for bus in wanted}
    return BusChanges(
        kept=[bus.name for bus in wanted if before.get(bus.name) == bus],
        reopened=[bus.name for bus in wanted if bus.name in before and before[bus.name] != bus],
        closed=[bus.name for bus in running if bus.name not in after],
        opened=[bus.name for bus in wanted if bus.name not in before],
    )


@dataclass
class _Link:
    actor: BusActor
    stop: asyncio.Event
    task: asyncio.Task[None]


async def _serve(actor: BusActor, stop: asyncio.Event, after: asyncio.Task[None] | None) -> None:
    """Serve ``actor``'s queue; a replacement first waits until its predecessor closed the port."""
    if after is not None:
        await asyncio.wait({after})
    await actor.run(stop)


class BusLinks:
    """Owns one actor (and its task) per configured bus."""

    def __init__(self, clock: Clock, link_factory: Callable[[BusConfig], ModbusLink] = ModbusLink) -> None:
        self.clock = clock
        self._link_factory = link_factory
        self._links: dict[str, _Link] = {}
        self._retiring: set[asyncio.Task[None]] = set()
        self._died = asyncio.Event()
        self._dead: list[asyncio.Task[None]] = []

    @property
    def actors(self) -> dict[str, BusActor]:
        """The serving actor of each bus, by name (what the poller reads through)."""
        return {name: link.actor for name, link in self._links.items()}

    @property
    def configs(self) -> list[BusConfig]:
        return [link.actor.config for link in self._links.values()]

    def start(self, buses: Sequence[BusConfig]) -> None:
        for bus in buses:
            self._open(bus)

    def apply(self, buses: Sequence[BusConfig]) -> BusChanges:
        """Switch to ``buses`` without awaiting: callers swap the poller's actors in the same step."""
        changes = bus_changes(self.configs, buses)
        wanted = {bus.name: bus for bus in buses}
        for name in changes.closed:
            self._retire(name)
        for name in changes.reopened:
            self._open(wanted[name], after=self._retire(name))
        for name in changes.opened:
            self._open(wanted[name])
        self._links = {bus.name: self._links[bus.name] for bus in buses}
        return changes

    async def settle(self, seconds: float) -> None:
        """Wait (bounded) until the actors a reload retired have closed their ports."""
        await bounded(self._retiring, seconds, log)

    async def close(self, seconds: float) -> None:
        """Stop every actor after its queue is served; cancel what is still busy after ``seconds``."""
        for link in self._links.values():
            link.stop.set()
        await bounded([*self._retiring, *(link.task for link in self._links.values())], seconds, log)

    async def watch(self) -> None:
        """Wait forever while every actor serves; raise :class:`LinkFailed` when one ended on its own."""
        await self._died.wait()
        task = self._dead[0]
        cause = None if task.cancelled() else task.exception()
        raise LinkFailed(f"{task.get_name()} terminó inesperadamente: {cause or 'sin error'}") from cause

    def _open(self, bus: BusConfig, after: asyncio.Task[None] | None = None) -> None:
        actor = BusActor(bus, self.clock, self._link_factory)
        stop = asyncio.Event()
        task = asyncio.create_task(_serve(actor, stop, after), name=f"bus-{bus.name}")
        task.add_done_callback(partial(self._ended, stop))
        self._links[bus.name] = _Link(actor, stop, task)

    def _retire(self, name: str) -> asyncio.Task[None]:
        link = self._links.pop(name)
        link.stop.set()
        self._retiring.add(link.task)
        link.task.add_done_callback(self._retiring.discard)
        return link.task

    def _ended(self, stop: asyncio.Event, task: asyncio.Task[None]) -> None:
        if stop.is_set() and (task.cancelled() or task.exception() is None):
            return
        self._dead.append(task)
        self._died.set()
