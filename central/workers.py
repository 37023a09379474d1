"""Background workers: what the app factory runs beside the API, and the loop most of them are.

A worker is an ``async`` callable taking the ``stop`` event; :func:`central.app.create_app`
starts each domain's workers and, on shutdown, sets ``stop``, waits a bounded time, then
cancels. Waiting goes through the app's :class:`~protocols.clock.Clock`, so tests move a
``ManualClock`` instead of sleeping.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from protocols.clock import Clock

Worker = Callable[[asyncio.Event], Awaitable[None]]


async def pause(clock: Clock, stop: asyncio.Event, seconds: float) -> None:
    """Wait ``seconds`` by ``clock``, or less if ``stop`` is set."""
    sleeper = asyncio.ensure_future(clock.sleep(seconds))
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sleeper, stopper):
            task.cancel()
        await asyncio.gather(sleeper, stopper, return_exceptions=True)


async def every(clock: Clock, stop: asyncio.Event, interval_s: float, one_pass: Callable[[], Awaitable[object]],
                log: logging.Logger, what: str) -> None:
    """Run ``one_pass`` every ``interval_s`` until ``stop`` is set. A failing pass (the
    database restarting, a channel down) is logged and tried again: it must not end the worker."""
    while not stop.is_set():
        try:
            await one_pass()
        except Exception:
            log.exception("%s failed; trying again in %.0f s", what, interval_s)
        await pause(clock, stop, interval_s)
