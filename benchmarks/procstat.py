"""CPU seconds a process has used, from ``/proc/<pid>/stat`` (Linux): a server's, or one of
PostgreSQL's backends, measured from outside, so the measuring process's own CPU is not counted."""

from __future__ import annotations

import os

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int) -> float:
    """User and system CPU seconds of ``pid`` so far; ``OSError`` when it is gone (or no ``/proc``)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
