"""bench_fleet's ``ingest`` server of two source trees side by side: a change against the commit before.

Not part of ``make bench`` (it needs two checkouts). Each tree's server runs on its own
temporary PostgreSQL database with bench_fleet's gateways; rounds alternate between them (the
order flips every round), at saturation and at the fleet's rate, so drift on a noisy machine
hits both alike. Prints each tree's figures and the per-round ratios after / before, as cited
in ``benchmarks/RESULTS.md`` ("Figures cited by the code"). Usage, from the after tree::

    git worktree add --detach /tmp/before HEAD~1
    PYTHONPATH=. .venv/bin/python -m benchmarks.compare_fleet /tmp/before . [rounds]
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from contextlib import ExitStack, chdir
from pathlib import Path

from benchmarks import bench_fleet
from benchmarks.databases import ADMIN_URL, temporary_database
from benchmarks.figures import spread

ROUNDS = 4
COMPARED = ("batches/s", "p99 ms", "cpu ms/batch", "pg cpu ms/batch")


SEED = "from benchmarks.bench_fleet import seed; import sys; seed(sys.argv[1])"


def start(stack: ExitStack, tree: Path) -> bench_fleet.Server:
    """An ``ingest`` server whose code comes from ``tree``: started in that folder, which is
    also its ``PYTHONPATH`` (``python -c`` puts the working folder first on the path). Its
    database is seeded by ``tree``'s code too, so it has that tree's schema (migrations)."""
    url = stack.enter_context(temporary_database(ADMIN_URL, "caudal_bench_fleet"))
    os.environ["PYTHONPATH"] = str(tree.resolve())
    with chdir(tree):
        subprocess.run([sys.executable, "-c", SEED, url], check=True)
        return stack.enter_context(bench_fleet.server("ingest", url))


def measure(servers: dict[str, bench_fleet.Server], rounds: int) -> None:
    everyone = list(servers.values())
    warm_up = [(gateway, bench_fleet.body(gateway, 0)) for gateway in range(bench_fleet.GATEWAYS)]
    for target in everyone:
        asyncio.run(bench_fleet.post_round(target.url, warm_up))
    for round_index in range(rounds):
        order = everyone if round_index % 2 == 0 else everyone[::-1]
        saturated, paced = bench_fleet.round_bodies(round_index + 1), bench_fleet.round_bodies(rounds + 1 + round_index)
        for target in order:
            bench_fleet.measure_round(target, saturated)
        for target in order:
            bench_fleet.measure_paced(target, paced, everyone)


def report(before: bench_fleet.Server, after: bench_fleet.Server) -> None:
    names = [*COMPARED, *(f"paced {name}" for name in COMPARED)]
    for label, target in (("before", before), ("after", after)):
        for name in names:
            print(f"   {label:6} {name:22} {spread(target.figures[name])}")
    for name in names:
        ratios = [a / b for a, b in zip(after.figures[name], before.figures[name], strict=True)]
        print(f"   ratio after / before, {name}: {spread(ratios)}")


def main(before_tree: str, after_tree: str, rounds: int = ROUNDS) -> None:
    with ExitStack() as stack:
        servers = {"before": start(stack, Path(before_tree)), "after": start(stack, Path(after_tree))}
        measure(servers, rounds)
        report(servers["before"], servers["after"])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], *(int(arg) for arg in sys.argv[3:4]))
