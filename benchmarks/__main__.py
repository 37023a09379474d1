"""``python -m benchmarks [NAME ...]``: run every benchmark (or those named), print figures,
and write them to ``benchmarks/RESULTS.md`` with the machine and the commit.

A run of some benchmarks replaces their sections and keeps the others' last ones; each
section names the commit and the time it was measured, so figures from different runs are
never mistaken for one run's.

Each benchmark's printed lines are kept in RESULTS.md as they were printed; a benchmark
whose ``main()`` returns :class:`benchmarks.figures.Figures` also gets a table of each
figure, its same-run baseline and their ratio.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import pkgutil
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import benchmarks
from benchmarks.figures import Figures

RESULTS = Path(benchmarks.__file__).with_name("RESULTS.md")
CITED = "## Figures cited by the code"  # kept by hand at the end of RESULTS.md; a run rewrites the rest
LOAD_AT_START = " / ".join(f"{load:.1f}" for load in os.getloadavg()) + " (1 / 5 / 15 min)"


def available() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_"))


class _Tee(io.TextIOBase):
    """Print as usual and keep a copy."""

    def __init__(self, out) -> None:
        self.out, self.kept = out, io.StringIO()

    def write(self, text: str) -> int:
        self.kept.write(text)
        self.out.write(text)
        self.out.flush()
        return len(text)


def machine() -> str:
    """nproc, CPU model and memory, from /proc where there is one."""
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    memory = "unknown"
    with contextlib.suppress(OSError, StopIteration):
        kib = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    return f"{os.cpu_count()} CPUs (nproc), {model}, {memory} memory, Python {platform.python_version()}"


def commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True, cwd=RESULTS.parent
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            cwd=RESULTS.parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}{' (with uncommitted changes)' if dirty else ''}"


def write_results(sections: dict[str, str]) -> None:
    """RESULTS.md with ``sections`` (benchmark name -> its text) and the kept sections of the others."""
    header = [
        "# Benchmark results",
        "",
        f"Last written by `make bench` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        f"- machine: {machine()}",
        f"- load average when the last run started: {LOAD_AT_START}",
        "",
        "Ratios compare figures measured in the same run; absolute figures vary with the machine's load."
        " Each section names the commit and time of the run that measured it.",
        "",
    ]
    merged = {**_kept_sections(), **sections}
    RESULTS.write_text("\n".join(header + [merged[name] for name in sorted(merged)] + _cited()) + "\n")


def _kept_sections() -> dict[str, str]:
    """The benchmark sections already in RESULTS.md, by benchmark name."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    text = text.split(CITED, 1)[0]
    kept = {}
    for chunk in text.split("\n## ")[1:]:
        name = chunk.split(" ", 1)[0].strip()
        if name.startswith("bench_"):
            kept[name] = "## " + chunk.rstrip("\n") + "\n"
    return kept


def _cited() -> list[str]:
    """The one-off measurements the code's comments cite: no benchmark reproduces them, so a run keeps them."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    at = text.find(CITED)
    return [text[at:].rstrip("\n")] if at >= 0 else []


def main(argv: list[str]) -> int:
    names = available()
    chosen = [n for n in names if not argv or any(a in n for a in argv)]
    if not chosen:
        print(f"no benchmark matches {argv}; available: {', '.join(names)}")
        return 2
    sections = {}
    for name in chosen:
        print(f"\n== {name}")
        started = time.perf_counter()
        tee = _Tee(sys.stdout)
        with contextlib.redirect_stdout(tee):
            figures = importlib.import_module(f"benchmarks.{name}").main()
        seconds = time.perf_counter() - started
        print(f"   ({seconds:.1f} s)")
        stamp = f"{seconds:.0f} s; commit {commit()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
        section = [f"## {name} ({stamp})", "", "```", tee.kept.getvalue().rstrip(), "```", ""]
        if isinstance(figures, Figures):
            section += [figures.markdown(), ""]
        sections[name] = "\n".join(section)
    write_results(sections)
    print(f"\nwritten to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
