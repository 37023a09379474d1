"""The rollup worker: refreshes the hourly summaries that ingest marked stale (and, on
PostgreSQL, creates the monthly partitions of ``readings`` ahead, :mod:`.partitions`, and
then compacts the hours older than ``CAUDAL_COMPACT_AFTER_DAYS``, :mod:`.compaction`).

Every ``CAUDAL_ROLLUP_INTERVAL_S`` (1 s) a pass refreshes marked hours batch after batch,
each batch in its own short transaction (on SQLite ingest waits for it), until the backlog
is drained; a backlog upload of weeks is thus summarised within seconds of arriving, not
inside the gateway's request. Replicas share the work (see :func:`rollup.pending`). An
aggregate never waits for this worker: it refreshes what it reads itself.

The pass is short and frequent on purpose: the refresh is the same work whatever the
interval, and done every 5 s it was a burst of PostgreSQL work that the fleet's batches
arriving meanwhile queued behind (p99 at 333 batches/s on 2 cores: 216-236 ms with a pass
every 5 s, 13-47 ms every second; benchmarks/RESULTS.md, "Figures cited by the code").
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from central.context import AppContext
from central.db import Database
from central.telemetry import compaction, partitions, rollup
from central.workers import Worker, every

log = logging.getLogger("caudal.central.telemetry")

BATCH = 100  # marks per transaction: a few milliseconds of writing each on either database


def drain(db: Database, limit: int = BATCH) -> int:
    """Refresh every marked hour, ``limit`` marks per transaction; returns how many marks."""
    handled = 0
    while True:
        with db.transaction() as conn:
            done = rollup.catch_up(conn, limit)
        handled += done
        if done < limit:
            return handled


def one_pass(db: Database, now: datetime, compact_after_days: int = 0) -> int:
    """The months ahead partitioned, then every marked hour refreshed, then (PostgreSQL,
    ``compact_after_days`` not 0) old hours compacted; returns how many marks. Compaction comes
    after the refresh: an hour's summary is computed while its readings are still loose."""
    if db.dialect == "postgresql":  # SQLite has one readings table, and a transaction here would take its lock
        with db.transaction() as conn:
            created = partitions.ensure_ahead(conn, now)
        if created:
            log.info("particiones de lecturas creadas: %s", ", ".join(created))
    handled = drain(db)
    if compact_after_days:
        moved = compaction.compact(db, now, compact_after_days)
        if moved:
            log.info("lecturas compactadas: %d", moved)
        swept = compaction.sweep(db)
        if swept:
            log.info("meses compactados, con VACUUM y REINDEX: %s", ", ".join(swept))
    return handled


def rollup_worker(ctx: AppContext) -> Worker:
    """The worker loop, until ``stop`` is set; a failing pass is logged and tried again."""

    async def rollup_worker(stop: asyncio.Event) -> None:
        await every(
            ctx.clock,
            stop,
            ctx.settings.rollup_interval_s,
            lambda: asyncio.to_thread(one_pass, ctx.db, ctx.clock.now(), ctx.settings.compact_after_days),
            log,
            "pasada de resúmenes por hora",
        )

    return rollup_worker
