"""A batch on its way to the central server, whose reply is still to come.

The uploader sends the batch after an accepted one before deleting the accepted one from the
buffer (issue 16: a backlog drain's server waited while the agent's buffer deleted and synced
each accepted batch). Such a flight outlives the call that sent it, so it is a task of its own
that the next call awaits, or that a stop cancels; nothing is deleted before its 2xx.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from edge.batchbody import BatchBody
from edge.http import HttpReply

ReadBatch = tuple[frozenset[str], BatchBody]  # the points skipped when it was read, and its body


@dataclass
class Flight:
    """A batch sent: the points skipped when it was read, its body, the reply to come."""

    skipped: frozenset[str]
    body: BatchBody
    reply: asyncio.Future[HttpReply]
    sent: asyncio.Event  # set by the transport once the body is on its way

    async def on_its_way(self) -> None:
        """Until the body is on its way (or the request is over: a transport may not say). Reading
        the next batch blocks the loop, and before then it held the body back; aiohttp writes
        the body from a task of its own."""
        sending = asyncio.ensure_future(self.sent.wait())
        try:
            await asyncio.wait((self.reply, sending), return_when=asyncio.FIRST_COMPLETED)
        finally:
            sending.cancel()


def drop(flight: Flight | None) -> None:
    """Cancel ``flight`` if any (its readings stay in the buffer); a failure it already met is
    not reported again as never retrieved."""
    if flight is None:
        return
    flight.reply.cancel()
    if flight.reply.done() and not flight.reply.cancelled():
        flight.reply.exception()
