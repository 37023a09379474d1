"""A server the benchmarks started as a subprocess: waiting until it answers, and stopping it."""

from __future__ import annotations

import subprocess
import time
from typing import IO

import httpx


def wait_ready(url: str, process: subprocess.Popen, timeout_s: float, log: IO[bytes] | None = None) -> None:
    """Until ``url/readyz`` answers 200; a server that exits first is an error with the end of its
    ``log`` (when it writes one) or its exit code."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the {url} server exited with {process.returncode}: {_tail(log)}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server at {url} was not ready within {timeout_s:g} s")


def stop(process: subprocess.Popen, timeout_s: float = 15) -> None:
    """SIGTERM (the server finishes its workers), then SIGKILL after a bounded wait."""
    process.terminate()
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _tail(log: IO[bytes] | None) -> str:
    if log is None:
        return "(no log)"
    log.seek(0)
    return log.read().decode(errors="replace")[-2000:]
