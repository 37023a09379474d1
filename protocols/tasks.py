"""Stopping asyncio tasks within a bound: what the edge agent and the central server both do
on shutdown and reload (never wait forever for a task that does not stop)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable


async def bounded(tasks: Iterable[asyncio.Task[object]], seconds: float, log: logging.Logger) -> None:
    """Wait up to ``seconds`` for ``tasks`` to finish, then cancel what is left. Logs each task
    that had to be cancelled and each that ended with an error (nobody else awaits them)."""
    tasks = list(tasks)
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=seconds)
    for task in pending:
        log.warning("la tarea %s no terminó en %g s; se cancela", task.get_name(), seconds)
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for task in tasks:
        if task not in pending and not task.cancelled() and task.exception() is not None:
            log.error("la tarea %s terminó con %r", task.get_name(), task.exception())
