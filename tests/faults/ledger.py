"""Counting a fault run: what the edge produced against what PostgreSQL stored.

The edge buffer numbers every reading it stores with ``seq`` (``AUTOINCREMENT``: assigned
once, never reused, and only by a committed poll cycle), so ``sqlite_sequence`` holds how
many readings the agent ever produced, kill -9s included: a cycle cut by a kill was never
committed and took no number. The central server keeps the ``seq`` it received with each
reading. After the agent has stopped and its buffer is drained:

* every seq 1..produced is stored (no gap), none twice (no double), none unknown;
* the buffer's ``dropped_total`` (readings it gave up, e.g. on a full disk) equals the count
  the server last heard from the gateway, and ``produced = stored + dropped``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import psycopg

from edge.buffer import Buffer
from edge.bufferread import read_stats
from edge.uploader import Uploader, UploadFailed
from protocols.clock import SystemClock
from tests.central.telemetry_support import GATEWAY_TOKEN

STORED_SEQS = """
SELECT r.seq FROM readings r JOIN gateways g ON g.id = r.gateway_id WHERE g.name = %s
"""


@dataclass(frozen=True)
class EdgeCount:
    produced: int  # the last seq the buffer assigned
    pending: list[int]  # seqs still in the buffer
    dropped: int  # the buffer's dropped_total (what ``caudal edge status`` shows, the .lost count included)


@dataclass(frozen=True)
class Tally:
    """The whole comparison; a clean run is ``Tally.clean(produced, dropped)``."""

    produced: int
    stored: int
    not_stored: int  # seqs produced, neither stored nor pending: must equal dropped_edge
    dropped_edge: int
    dropped_reported: int
    doubled: tuple[int, ...]  # seqs stored more than once
    unknown: tuple[int, ...]  # seqs stored that the buffer never assigned
    pending: int
    first_gaps: tuple[int, ...] = ()  # when not_stored != dropped_edge: the first seqs not stored

    @classmethod
    def clean(cls, produced: int, dropped: int = 0) -> Tally:
        return cls(produced, produced - dropped, dropped, dropped, dropped, (), (), 0)


def edge_count(buffer_path: Path) -> EdgeCount:
    """Read the buffer without the agent (read-only; the agent may be running)."""
    conn = sqlite3.connect(f"{buffer_path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    try:
        last = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'readings'").fetchone()
        pending = [row[0] for row in conn.execute("SELECT seq FROM readings ORDER BY seq")]
    finally:
        conn.close()
    return EdgeCount(last[0] if last else 0, pending, read_stats(buffer_path).dropped_total)


def stored_seqs(database_url: str, gateway: str) -> list[int]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        return [row[0] for row in conn.execute(STORED_SEQS, (gateway,))]


def reported_dropped(database_url: str, gateway: str) -> int:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute("SELECT dropped_total FROM gateways WHERE name = %s", (gateway,)).fetchone()
    return row[0] or 0


def tally(buffer_path: Path, database_url: str, gateway: str) -> Tally:
    edge = edge_count(buffer_path)
    seqs = stored_seqs(database_url, gateway)
    counted = Counter(seqs)
    produced = set(range(1, edge.produced + 1))
    gaps = sorted(produced - counted.keys() - set(edge.pending))
    return Tally(
        produced=edge.produced,
        stored=len(seqs),
        not_stored=len(gaps),
        dropped_edge=edge.dropped,
        dropped_reported=reported_dropped(database_url, gateway),
        doubled=tuple(sorted(seq for seq, n in counted.items() if n > 1)),
        unknown=tuple(sorted(counted.keys() - produced)),
        pending=len(edge.pending),
        first_gaps=tuple(gaps[:10]) if len(gaps) != edge.dropped else (),
    )


async def _drain(buffer_path: Path, central_url: str, gateway: str) -> int:
    with Buffer.open(buffer_path) as buffer:
        uploader = Uploader(
            gateway=gateway,
            central_url=central_url,
            token=GATEWAY_TOKEN,
            buffer=buffer,
            clock=SystemClock(),
            version="faults-drain",
        )
        try:
            sent = await uploader.upload_once()  # a heartbeat when empty: the server hears the counters
            while buffer.pending(1):
                sent += await uploader.upload_once()
        finally:
            await uploader.close()
    return sent


def drain(buffer_path: Path, central_url: str, gateway: str, attempts: int = 20) -> int:
    """With the agent stopped: upload what it left behind (and report its counters once);
    returns how many readings that took."""
    for attempt in range(attempts):
        try:
            return asyncio.run(_drain(buffer_path, central_url, gateway))
        except UploadFailed:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)
    return 0
