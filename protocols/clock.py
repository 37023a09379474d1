"""The clock every waiting or time-reading piece of Caudal goes through.

Production code takes a :class:`Clock`; tests pass a :class:`ManualClock` and move time
forward instead of sleeping. All times are aware UTC datetimes.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, aware, in UTC."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin that never goes backwards."""

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (returns at once when not positive)."""


async def sleep_until(clock: Clock, when: datetime) -> None:
    """Wait until ``when`` by ``clock``."""
    await clock.sleep((when - clock.now()).total_seconds())


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ManualClock:
    """A clock that moves only when told to; sleepers wake as :meth:`advance` passes them.

    Used by tests and by commands that act "as of" a given time (``run-once --now``).
    """

    def __init__(self, start: datetime | str = "2026-01-01T00:00:00Z") -> None:
        if isinstance(start, str):
            start = datetime.fromisoformat(start)
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._origin = self._now
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return (self._now - self._origin).total_seconds()

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + timedelta(seconds=seconds), next(self._order), future))
        await future

    @property
    def sleepers(self) -> int:
        """How many tasks are waiting on this clock."""
        return sum(1 for *_, future in self._sleepers if not future.done())

    def set(self, when: datetime | str) -> None:
        """Jump to ``when`` (forward only), waking every sleeper whose time has come."""
        if isinstance(when, str):
            when = datetime.fromisoformat(when)
        self.advance((when - self._now).total_seconds())

    def advance(self, seconds: float) -> None:
        """Move time forward, waking sleepers in deadline order."""
        if seconds < 0:
            raise ValueError("time does not go backwards")
        target = self._now + timedelta(seconds=seconds)
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, future = heapq.heappop(self._sleepers)
            self._now = max(self._now, deadline)
            if not future.done():
                future.set_result(None)
        self._now = target

    async def run_for(self, seconds: float, step: float = 1.0) -> None:
        """Advance in ``step`` increments, letting woken tasks run after each step."""
        remaining = seconds
        while remaining > 0:
            self.advance(min(step, remaining))
            remaining -= step
            for _ in range(5):
                await asyncio.sleep(0)
