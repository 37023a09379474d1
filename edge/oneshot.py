"""``caudal edge poll-once``: every device read once through the agent's own buses and poller.

Nothing is written: the readings and each device's problem (a link that would not open, a
silent unit, a value no meter gives) are returned for the command to show and judge.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from edge.agent import supervised
from edge.buffer import PolledReading
from edge.clocksync import kernel_clock_synced
from edge.config import SiteConfig
from edge.links import SHUTDOWN_WAIT_S, BusLinks
from edge.poller import Poller
from protocols.clock import Clock


@dataclass(frozen=True)
class OneShot:
    """What one read of every device gave: the readings, and per device what went wrong."""

    readings: list[PolledReading]
    problems: dict[str, str]

    @property
    def failed(self) -> bool:
        """True when any register gave no value (failed read, undecodable or implausible)."""
        return any(not reading.quality.has_value for reading in self.readings)


async def poll_once(
    config: SiteConfig, clock: Clock, clock_synced: Callable[[], bool] = kernel_clock_synced
) -> OneShot:
    """Read every device once; nothing is written anywhere."""
    links = BusLinks(clock)
    links.start(config.buses)
    watch = asyncio.create_task(links.watch(), name="buses")
    try:
        poller = Poller(config, links.actors, clock, sink=lambda readings: None, clock_synced=clock_synced)
        readings = await supervised(poller.poll_all(), [watch])
    finally:
        watch.cancel()
        await links.close(SHUTDOWN_WAIT_S)
    problems = {device.name: device.counters.last_error for device in poller.devices if device.counters.last_error}
    return OneShot(readings, problems)
