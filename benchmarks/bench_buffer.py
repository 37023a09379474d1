"""Edge buffer throughput: appends in poll-cycle transactions (20 readings) and drains of 5,000.

Baseline, measured in the same run: raw ``sqlite3.executemany`` of the same rows into an
equivalent table with the same pragmas (WAL, synchronous=FULL), one transaction per 20 rows,
and a raw SELECT (same columns) + DELETE drain. The ratio says what validation, budget checks and building
wire models cost on top of SQLite itself. A raw run with synchronous=NORMAL is printed for
reference: it is the price of the FULL choice explained in ``edge/buffer.py``.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from edge.buffer import INSERT, SCHEMA, SELECT_PENDING, Buffer, PolledReading
from edge.bufferrows import to_row
from protocols.uplink import Quality

CYCLES = 1500
CYCLE_SIZE = 20
DRAIN_BATCH = 5000
T0 = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)


def cycles() -> list[list[PolledReading]]:
    return [
        [
            PolledReading(
                "caudalimetro-pozo-1",
                "OB-0601-444",
                f"v{index}",
                T0 + timedelta(seconds=number),
                12.34 + number,
                "L/s",
                Quality.GOOD,
            )
            for index in range(CYCLE_SIZE)
        ]
        for number in range(CYCLES)
    ]


def timed(action: Callable[[], None]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def buffer_run(path: Path, data: list[list[PolledReading]]) -> tuple[float, float]:
    with Buffer.open(path, max_mb=512) as buffer:
        appended = timed(lambda: [buffer.append(cycle) for cycle in data])

        def drain() -> None:
            while batch := buffer.pending(DRAIN_BATCH):
                buffer.acknowledge(reading.seq for reading in batch)

        return appended, timed(drain)


def raw_connection(path: Path, synchronous: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.executescript(SCHEMA)
    return conn


def raw_run(path: Path, rows: list[list[tuple]], synchronous: str = "FULL") -> tuple[float, float]:
    conn = raw_connection(path, synchronous)

    def append() -> None:
        for cycle in rows:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(INSERT, cycle)
            conn.execute("COMMIT")

    def drain() -> None:
        while batch := conn.execute(SELECT_PENDING, (DRAIN_BATCH,)).fetchall():
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("DELETE FROM readings WHERE seq = ?", [row[:1] for row in batch])
            conn.execute("COMMIT")

    try:
        return timed(append), timed(drain)
    finally:
        conn.close()


def main() -> None:
    data = cycles()
    rows = [[to_row(reading, index) for index, reading in enumerate(cycle)] for cycle in data]
    total = CYCLES * CYCLE_SIZE
    with tempfile.TemporaryDirectory() as folder:
        runs = {"buffer": [], "raw": []}
        for attempt in range(3):  # alternate, keep the best of each, so drift hits both alike
            runs["raw"].append(raw_run(Path(folder) / f"raw{attempt}.db", rows))
            runs["buffer"].append(buffer_run(Path(folder) / f"buffer{attempt}.db", data))
        normal = raw_run(Path(folder) / "normal.db", rows, synchronous="NORMAL")
    (buf_append, buf_drain), (raw_append, raw_drain) = (
        tuple(min(times) for times in zip(*runs[name], strict=True)) for name in ("buffer", "raw")
    )
    print(
        f"   append, {CYCLE_SIZE}/transaction: buffer {total / buf_append:,.0f}/s, raw sqlite3 "
        f"{total / raw_append:,.0f}/s, ratio buffer/baseline {raw_append / buf_append:.2f}"
    )
    print(
        f"   drain, {DRAIN_BATCH}/batch: buffer {total / buf_drain:,.0f}/s, raw sqlite3 "
        f"{total / raw_drain:,.0f}/s, ratio buffer/baseline {raw_drain / buf_drain:.2f}"
    )
    print(
        f"   reference: raw append with synchronous=NORMAL {total / normal[0]:,.0f}/s "
        f"(FULL costs {raw_append / normal[0]:.1f}x in time on this disk)"
    )
