"""Figures a benchmark reports: each measured value with its same-run baseline and their ratio.

A benchmark's ``main()`` may return a :class:`Figures`; ``python -m benchmarks`` writes
every one of them, with the machine and the commit, to ``benchmarks/RESULTS.md``. Values
are min/median/max over rounds; a ratio is taken per round (measured and baseline of the
same round, so drift on a loaded machine hits both alike) and summarised the same way.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


def median_seconds(run: Callable[[], object], times: int) -> float:
    """The median wall time of ``times`` calls of ``run``, in seconds (one slow call is not the figure)."""
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def spread(values: Sequence[float]) -> str:
    """``min / median / max (n rounds)`` with three significant figures."""
    return (
        f"{min(values):.3g} / {statistics.median(values):.3g} / {max(values):.3g} (min / median / max of {len(values)})"
    )


@dataclass
class Figures:
    """One benchmark's figures: rows of (what, measured, baseline or None, ratio or None)."""

    title: str
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)

    def ratio(self, what: str, measured: Sequence[float], baseline: Sequence[float]) -> list[float]:
        """Record ``measured`` against ``baseline`` (same rounds, same order); print and return the ratios."""
        ratios = [m / b for m, b in zip(measured, baseline, strict=True)]
        self.rows.append((what, spread(measured), spread(baseline), spread(ratios)))
        print(f"   ratio {what}: {spread(ratios)}")
        return ratios

    def value(self, what: str, measured: Sequence[float]) -> None:
        """Record a figure with no baseline (a latency against a fixed goal)."""
        self.rows.append((what, spread(measured), "", ""))
        print(f"   {what}: {spread(measured)}")

    def markdown(self) -> str:
        lines = [f"### {self.title}", "", "| figure | measured | same-run baseline | ratio |", "|---|---|---|---|"]
        lines += [
            f"| {what} | {measured} | {baseline or '—'} | {ratio or '—'} |"
            for what, measured, baseline, ratio in self.rows
        ]
        return "\n".join(lines)
