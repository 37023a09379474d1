"""The queue the ``on_ingest`` hook feeds: ingested batches evaluated in arrival order, merged.

Order matters: evaluation ignores readings older than the newest already evaluated, and
evaluating each batch in its own request thread let a gateway's batch k+1 be evaluated
before batch k when it uploads a backlog back to back (measured: the alerts raised then
differed run to run). Merging matters for cost: see :class:`EvaluationQueue`.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from central.db import Database
from central.notify.settings import Preferences

from .service import evaluate_ingest

log = logging.getLogger("caudal.central.alerts")

GATHER_S = 0.1
GATHER_READINGS = 1_000


class EvaluationQueue:
    """Evaluates ingested batches in arrival order on one thread, off the request path.

    Batches that pile up while one is evaluated are merged into the next evaluation (one
    transaction for all of them), and a batch that finds the thread idle waits up to
    ``gather_s`` for others to join it, until ``gather_readings`` readings are queued. An
    evaluation's cost is mostly its round trips and the rules' state, not its readings: one
    30-reading batch costs 0.46 ms of CPU on PostgreSQL, sixteen merged 0.15 ms each
    (``benchmarks/RESULTS.md``, "Figures cited by the code"). The wait is wall time, like a
    socket's timeout: what evaluation reads as now is the time each batch was ingested.
    :meth:`wait_idle` and :meth:`close` end it at once.

    ``limit`` bounds the backlog: past it, :meth:`submit` waits (back-pressure on ingest)
    rather than letting memory grow. Evaluations still queued when the process dies are lost
    (the readings are stored; later batches of each point are evaluated as usual).
    """

    def __init__(
        self,
        db: Database,
        *,
        limit: int = 256,
        gather_s: float = GATHER_S,
        gather_readings: int = GATHER_READINGS,
        preferences: Callable[[], Preferences] = Preferences,
    ) -> None:
        self._db, self._limit, self._preferences = db, limit, preferences
        self._gather_s, self._gather_readings = gather_s, gather_readings
        self._items: deque[tuple[datetime, Sequence[Any]]] = deque()
        self._queued_readings = self._hurried = 0
        self._busy = self._closed = False
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def submit(self, readings: Sequence[Any], now: datetime) -> None:
        """Queue a batch's readings, waiting while the queue is full."""
        with self._changed:
            self._changed.wait_for(lambda: len(self._items) < self._limit or self._closed)
            self._append(readings, now)

    def offer(self, readings: Sequence[Any], now: datetime) -> bool:
        """Queue a batch's readings if there is room, without waiting; False if there is none.
        The lock is held only to append or take, never while evaluating, so the event loop
        can call this (where :meth:`submit` needs a thread of its own, a hop per batch)."""
        with self._changed:
            if len(self._items) >= self._limit and not self._closed:
                return False
            self._append(readings, now)
            return True

    def _append(self, readings: Sequence[Any], now: datetime) -> None:
        """With the lock held. Wakes the thread only when it has something to do: the first
        batch, or enough gathered (a wake-up per batch cost every batch a context switch)."""
        if self._closed:
            raise RuntimeError("the alert evaluation queue is closed")
        self._items.append((now, readings))
        self._queued_readings += len(readings)
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="alert-evaluation", daemon=True)
            self._thread.start()
        if len(self._items) == 1 or self._gathered():
            self._changed.notify_all()

    @property
    def queued_readings(self) -> int:
        """Readings waiting to be taken for evaluation (the ``caudal_alert_queue_readings``
        gauge): a few hundred while batches gather; held near the queue's limit, evaluation
        does not keep up and ingest waits for it."""
        with self._changed:
            return self._queued_readings

    def _gathered(self) -> bool:
        """Enough queued to evaluate now, or someone waits for the queue to empty."""
        return (
            self._queued_readings >= self._gather_readings
            or len(self._items) >= self._limit
            or self._closed
            or self._hurried > 0
        )

    def _next(self) -> tuple[datetime, list[Any]] | None:
        with self._changed:
            self._changed.wait_for(lambda: self._items or self._closed)
            if not self._items:
                return None
            self._changed.wait_for(self._gathered, self._gather_s)
            taken = list(self._items)
            self._items.clear()
            self._queued_readings = 0
            self._busy = True
            self._changed.notify_all()
        return taken[-1][0], [reading for _, readings in taken for reading in readings]

    def _run(self) -> None:
        while (work := self._next()) is not None:
            now, readings = work
            try:
                evaluate_ingest(self._db, readings, now, self._preferences())
            except Exception:  # one failed evaluation must not stop the next ones
                log.exception("falló la evaluación de alertas de %d lecturas", len(readings))
            finally:
                with self._changed:
                    self._busy = False
                    self._changed.notify_all()

    def wait_idle(self, timeout_s: float) -> bool:
        """Evaluate what is queued without waiting for more, and wait until it is done; False
        on timeout."""
        with self._changed:
            self._hurried += 1
            self._changed.notify_all()
            try:
                return self._changed.wait_for(lambda: not self._items and not self._busy, timeout_s)
            finally:
                self._hurried -= 1

    def close(self, timeout_s: float) -> None:
        """Evaluate what is queued (within ``timeout_s``), then let the thread end."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout_s)
