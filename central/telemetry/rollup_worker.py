"""The rollup worker: refreshes the hourly summaries that ingest marked stale.

Every ``CAUDAL_ROLLUP_INTERVAL_S`` (5 s) a pass refreshes marked hours batch after batch,
each batch in its own short transaction (on SQLite ingest waits for it), until the backlog
is drained; a backlog upload of weeks is thus summarised within seconds of arriving, not
inside the gateway's request. Replicas share the work (see :func:`rollup.pending`). An
aggregate never waits for this worker: it refreshes what it reads itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from central.context import AppContext
from central.db import Database
from central.notify.outbox import pause
from central.telemetry import rollup

log = logging.getLogger("caudal.central.telemetry")

BATCH = 100  # marks per transaction: a few milliseconds of writing each on either database

Worker = Callable[[asyncio.Event], Awaitable[None]]


def drain(db: Database, limit: int = BATCH) -> int:
    """Refresh every marked hour, ``limit`` marks per transaction; returns how many marks."""
    handled = 0
    while True:
        with db.transaction() as conn:
            done = rollup.catch_up(conn, limit)
        handled += done
        if done < limit:
            return handled


def rollup_worker(ctx: AppContext) -> Worker:
    """The worker loop, until ``stop`` is set; a failing pass is logged and tried again."""
    interval_s = ctx.settings.rollup_interval_s

    async def rollup_worker(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(drain, ctx.db)
            except Exception:  # a database hiccup must not end the worker; the marks wait
                log.exception("hourly summary pass failed; trying again in %.0f s", interval_s)
            await pause(ctx.clock, stop, interval_s)

    return rollup_worker
