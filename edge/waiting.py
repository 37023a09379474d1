"""Waiting for the first of several things (a sleep, a stop, a wake-up) without leaking the rest."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable


async def wait_first(*awaitables: Awaitable[object]) -> None:
    """Return when the first awaitable finishes (re-raising its error), cancelling the others.

    The cancelled ones are awaited before returning, so none outlives the call (a sleeper still
    registered on a clock, an ``Event.wait`` still pending).
    """
    tasks = [asyncio.ensure_future(item) for item in awaitables]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        task.result()
