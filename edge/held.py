"""Readings of points the central server refuses for this gateway: held back, never lost.

A device with a wrong ``point:`` in site.yaml (or a point not yet assigned to the gateway on
the central server) makes the server refuse the whole batch with a 403 naming those points
and storing nothing. Retrying that batch as it is would stop every other point's uploads
too, so the uploader holds the named points' readings back in the buffer (not deleted: nothing
lost) and sends the rest (the server stored nothing of the refused batch: nothing doubled).
Every :data:`HOLD_RECHECK_S` the held readings are offered again, so a corrected assignment
on the server lets them through without touching the gateway.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta

from edge.http import HttpReply

HOLD_RECHECK_S = 600.0


def refused_points(reply: HttpReply) -> set[str]:
    """The point codes a 403 says this gateway may not write (empty for any other answer)."""
    if reply.status != 403:
        return set()
    try:
        error = json.loads(reply.body).get("error")
    except (ValueError, AttributeError):
        return set()
    details = error.get("details") if isinstance(error, dict) else None
    if not isinstance(details, list):
        return set()
    return {
        item["problem"]
        for item in details
        if isinstance(item, dict) and item.get("field") == "point" and isinstance(item.get("problem"), str)
    }


class HeldPoints:
    """The points whose readings stay in the buffer for now, and since when."""

    def __init__(self, recheck_s: float = HOLD_RECHECK_S) -> None:
        self.recheck = timedelta(seconds=recheck_s)
        self.points: frozenset[str] = frozenset()
        self.since: datetime | None = None

    def current(self, now: datetime) -> frozenset[str]:
        """The points held at ``now``; none once the recheck time has come (they are offered again)."""
        if self.since is not None and now - self.since >= self.recheck:
            self.points, self.since = frozenset(), None
        return self.points

    def hold(self, points: Iterable[str], now: datetime) -> set[str]:
        """Hold ``points`` back from ``now`` on; returns those that were not held already."""
        new = set(points) - self.points
        if new:
            self.points = self.points | new
            self.since = now
        return new
