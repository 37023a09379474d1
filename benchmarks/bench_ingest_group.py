"""A fleet's small batch stored alone against stored in a group, without HTTP.

Issue 16, goal 1. At the fleet's own rate (333 batches/s, ``bench_fleet``'s paced set) many
batches arrive while no group is being stored and are stored alone, in a transaction of their
own; the batches that arrive while a group is being stored are stored together, in the next
group (:mod:`central.telemetry.uplink.group_commit`, :mod:`central.telemetry.ingest_group`). This measures that difference alone: on a temporary
PostgreSQL database with ``bench_fleet``'s gateways, ``central.telemetry.ingest_group.ingest_group``
called in this process with bodies already gunzipped, ``BATCHES`` batches per size and round,
in groups of 1, 4 and 16 (each group one gateway per batch, as the group commit forms them).
Figures per batch: this process's CPU and that of the database's PostgreSQL backends; ratios
against the groups of 16 in the same round. ``docs/ARQUITECTURA_MODULAR.md`` ("Al ritmo de la
flota") plans capacity on these: a fleet's batch costs what it costs alone.
"""

from __future__ import annotations

import gzip
import time
from datetime import UTC, datetime

from benchmarks import bench_fleet
from benchmarks.databases import ADMIN_URL, BackendCpu, postgres_measurable, temporary_database
from benchmarks.figures import Figures, spread
from central.db import Database, open_database
from central.deps import known_gateway
from central.telemetry.ingest_group import Upload, ingest_group

SIZES = (1, 4, 16)
BATCHES = 480  # a multiple of every size
ROUNDS = 3
TOLERANCE_S = 300.0


class Bodies:
    """Each gateway's batches in turn, each new (its gateway's next ten minutes)."""

    def __init__(self) -> None:
        self.sent = 0

    def next_group(self, size: int) -> list[Upload]:
        now = datetime.now(UTC)
        group = []
        for _ in range(size):
            gateway, batch = self.sent % bench_fleet.GATEWAYS, self.sent // bench_fleet.GATEWAYS
            body = gzip.decompress(bench_fleet.body(gateway, batch))
            group.append(Upload(bench_fleet.token(gateway), known_gateway, body, now))
            self.sent += 1
        return group


def stored(db: Database, url: str, bodies: Bodies, size: int) -> tuple[float, float]:
    """CPU ms per batch of this process and of PostgreSQL, ``BATCHES`` batches in groups of ``size``."""
    groups = [bodies.next_group(size) for _ in range(BATCHES // size)]  # made before the clock starts
    readings = bench_fleet.READINGS_PER_BATCH
    with BackendCpu(url) as backends:
        own = time.process_time()
        for group in groups:
            outcomes = ingest_group(db, group, TOLERANCE_S)
            assert [getattr(outcome, "stored", outcome) for outcome in outcomes] == [readings] * size, outcomes
        own = time.process_time() - own
    return own / BATCHES * 1000, (backends.seconds or 0.0) / BATCHES * 1000


def measure(db: Database, url: str) -> dict[int, tuple[list[float], list[float]]]:
    """Per size, (process CPU, PostgreSQL CPU) per batch of each round; sizes alternate in a round."""
    bodies, figures = Bodies(), {size: ([], []) for size in SIZES}
    for size in SIZES:  # warm-up: connections open, statements prepared, latest readings set
        stored(db, url, bodies, size)
    for _ in range(ROUNDS):
        for size in SIZES:
            own, backend = stored(db, url, bodies, size)
            figures[size][0].append(own)
            figures[size][1].append(backend)
    return figures


def main() -> Figures | None:
    if not postgres_measurable(
        f"{bench_fleet.READINGS_PER_BATCH}-reading batches of {bench_fleet.GATEWAYS} gateways stored in this process"
        f" (no HTTP) in groups of {', '.join(map(str, SIZES))}; {BATCHES} batches per size and round,"
        f" {ROUNDS} rounds; PostgreSQL"
    ):
        return None
    figures = Figures("a fleet's batch stored alone and in groups")
    with temporary_database(ADMIN_URL, "caudal_bench_ingest_group") as url:
        bench_fleet.seed(url)
        db = open_database(url)
        try:
            measured = measure(db, url)
        finally:
            db.close()
    for size, (own, backend) in measured.items():
        print(f"   groups of {size:>2}: process CPU ms/batch {spread(own)}; PostgreSQL CPU ms/batch {spread(backend)}")
    largest = measured[SIZES[-1]]
    for size in SIZES[:-1]:
        own, backend = measured[size]
        figures.ratio(f"process CPU per batch, groups of {size} / of {SIZES[-1]}", own, largest[0])
        figures.ratio(f"PostgreSQL CPU per batch, groups of {size} / of {SIZES[-1]}", backend, largest[1])
    return figures


if __name__ == "__main__":
    main()
