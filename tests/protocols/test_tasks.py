"""Stopping tasks within a bound: what finishes is left alone, what hangs is cancelled, and both
a hang and an error are logged."""

from __future__ import annotations

import asyncio
import logging

from protocols.tasks import bounded

log = logging.getLogger("caudal.test.tasks")


async def finishes() -> None:
    await asyncio.sleep(0)


async def hangs() -> None:
    await asyncio.Event().wait()


async def fails() -> None:
    raise RuntimeError("port vanished")


async def test_tasks_are_stopped_within_the_bound_and_what_went_wrong_is_logged(caplog):
    tasks = [asyncio.create_task(job(), name=job.__name__) for job in (finishes, hangs, fails)]
    with caplog.at_level(logging.WARNING, logger=log.name):
        await bounded(tasks, 0.05, log)
    assert [(t.get_name(), t.cancelled()) for t in tasks] == [("finishes", False), ("hangs", True), ("fails", False)]
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "la tarea hangs no terminó en 0.05 s; se cancela"),
        ("ERROR", "la tarea fails terminó con RuntimeError('port vanished')"),
    ]


async def test_no_tasks_is_no_wait():
    await asyncio.wait_for(bounded([], 60, log), 1)
