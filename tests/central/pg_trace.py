"""Round trips counted in libpq's protocol trace (the pipelined transaction and group commit tests)."""

from __future__ import annotations

import os
from pathlib import Path

from central.db import Connection


class WaitCounter:
    """Counts how many times a connection's client waits for the server (libpq's protocol
    trace: each wait sends Flush), from :meth:`start` to :meth:`stop`."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._conn: Connection | None = None

    def start(self, conn: Connection) -> None:
        self._conn = conn
        self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        conn.raw.pgconn.trace(self._fd)

    def stop(self) -> int:
        assert self._conn is not None
        self._conn.raw.pgconn.untrace()
        os.close(self._fd)
        lines = self._path.read_text().splitlines()
        return sum(1 for line in lines if line.split("\t")[1:4:2] == ["F", "Flush"])
