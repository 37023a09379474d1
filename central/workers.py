"""Background workers: what the app factory runs beside the API, and the loop most of them are.

A worker is an ``async`` callable taking the ``stop`` event; :func:`central.app.create_app`
starts each domain's workers and, on shutdown, sets ``stop``, waits a bounded time, then
cancels. Waiting goes through the app's :class:`~protocols.clock.Clock`, so tests move a
``ManualClock`` instead of sleeping.

While the database is out of reach every pass fails the same expected way; the log says
so once when it starts (a warning with the reason) and once when it ends (an info line),
with no traceback. Any other failure is logged with its traceback every time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from central.db import DatabaseUnavailable
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


class Outage:
    """Whether the database was out of reach at the last pass, so the log tells an outage's
    start and end once each instead of at every pass."""

    def __init__(self, log: logging.Logger, what: str, interval_s: float) -> None:
        self.log, self.what, self.interval_s = log, what, interval_s
        self.down = False

    def failed(self, exc: DatabaseUnavailable) -> None:
        if not self.down:
            self.log.warning(
                "%s: la base de datos no responde (%s); se reintenta cada %.0f s hasta que vuelva",
                self.what,
                exc,
                self.interval_s,
            )
        self.down = True

    def passed(self) -> None:
        if self.down:
            self.log.info("%s: la base de datos responde de nuevo", self.what)
        self.down = False


async def every(
    clock: Clock,
    stop: asyncio.Event,
    interval_s: float,
    one_pass: Callable[[], Awaitable[object]],
    log: logging.Logger,
    what: str,
) -> None:
    """Run ``one_pass`` every ``interval_s`` until ``stop`` is set. A failing pass (the
    database restarting, a channel down) is logged and tried again: it must not end the worker."""
    outage = Outage(log, what, interval_s)
    while not stop.is_set():
        try:
            await one_pass()
        except DatabaseUnavailable as exc:
            outage.failed(exc)
        except Exception:
            log.exception("%s: falló; se reintenta en %.0f s", what, interval_s)
        else:
            outage.passed()
        await pause(clock, stop, interval_s)
