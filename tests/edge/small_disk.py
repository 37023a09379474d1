"""A real small disk for the full-disk tests: a tmpfs mounted for one test, and a way to fill it.

Mounting needs root (the tests run as root here and in CI). Where it is not permitted the
tests skip with the reason, except in CI (``CI=true``), where a skip would hide that the
full-disk behaviour went untested: there it is a failure.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def small_disk(folder: Path, size_kib: int) -> Iterator[Path]:
    """A tmpfs of ``size_kib`` KiB mounted at ``folder`` until the block ends."""
    folder.mkdir(parents=True, exist_ok=True)
    command = ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k,mode=0755", "tmpfs", str(folder)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        problem = (result.stderr.strip() or f"exit {result.returncode}") if result.returncode else ""
    except OSError as exc:
        problem = str(exc)
    if problem:
        reason = f"cannot mount a tmpfs at {folder} ({problem}): the full-disk tests need root"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must run them", pytrace=False)
        pytest.skip(reason)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=True)


def fill(folder: Path, name: str = "filler") -> int:
    """Grow ``folder/name`` until the disk refuses even one more byte; returns the bytes added."""
    fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    added = 0
    try:
        for block in (1 << 16, 1 << 12, 1 << 9, 1):
            try:
                while True:
                    added += os.write(fd, b"\0" * block)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
    finally:
        os.close(fd)
    return added


def free_kib(folder: Path) -> int:
    stats = os.statvfs(folder)
    return stats.f_bavail * stats.f_frsize // 1024
