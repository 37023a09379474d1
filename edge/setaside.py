"""Readings the central server refuses for good: set aside beside the buffer, never lost, never blocking.

The server refuses a whole batch (422, nothing stored) when a reading is dated before 2000 or
more than a day past its clock, naming each such reading's ``seq``. A gateway without RTC that
polled at 1970 before NTP set its clock would otherwise retry that batch forever, and every
reading behind it would wait too. So the uploader copies the named readings, with the server's
reason, to ``<buffer>.setaside`` (JSON lines, fsynced) before deleting them from the buffer,
logs one ERROR, counts them with the drops it reports to the server and ``caudal edge status``
shows, and sends the others at once (the server stored nothing of the refused batch: nothing
doubled). The file keeps them for a technician: nothing is silently lost.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from edge.http import HttpReply
from protocols.uplink import StoredRow

FIELDS = ("seq", "device", "point", "variable", "ts_us", "value", "unit", "quality")


def setaside_path(buffer_path: Path) -> Path:
    """Where the readings refused from the buffer at ``buffer_path`` are kept."""
    return buffer_path.with_name(buffer_path.name + ".setaside")


def refused_readings(reply: HttpReply) -> dict[int, str]:
    """``{seq: reason}`` for each reading a 422 names (empty for any other answer, or a 422 about
    the batch as a whole, such as its ``sent_at``: that is retried, not set aside)."""
    if reply.status != 422:
        return {}
    try:
        error = json.loads(reply.body).get("error")
    except (ValueError, AttributeError):
        return {}
    details = error.get("details") if isinstance(error, dict) else None
    if not isinstance(details, list):
        return {}
    return {
        item["seq"]: f"{item.get('field')}: {item.get('problem')}"
        for item in details
        if isinstance(item, dict) and type(item.get("seq")) is int
    }


def _seqs_in(path: Path) -> set[int]:
    """The seqs already kept in ``path`` (a line torn by a crash is skipped: its reading is still
    in the buffer and is set aside again)."""
    seqs = set()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return seqs
    for line in lines:
        try:
            seqs.add(int(json.loads(line)["seq"]))
        except (ValueError, KeyError, TypeError):
            continue
    return seqs


def count_set_aside(buffer_path: Path) -> int:
    """How many readings were set aside from the buffer at ``buffer_path`` (read-only, for status)."""
    return len(_seqs_in(setaside_path(buffer_path)))


class SetAside:
    """The ``.setaside`` file of one buffer; each reading is kept once even if refused twice
    (a crash between keeping it and deleting it from the buffer)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seqs = _seqs_in(path)

    @property
    def total(self) -> int:
        return len(self._seqs)

    def keep(self, rows: Iterable[StoredRow], reasons: dict[int, str], now: datetime) -> int:
        """Append ``rows`` with their reasons and fsync, before the caller deletes them from the
        buffer; returns how many were new. An ``OSError`` (full disk) keeps nothing."""
        new = [row for row in rows if row[0] not in self._seqs]
        if not new:
            return 0
        lines = "".join(
            json.dumps(
                {
                    **dict(zip(FIELDS, row, strict=True)),
                    "reason": reasons.get(row[0], ""),
                    "set_aside_at": now.isoformat(),
                }
            )
            + "\n"
            for row in new
        )
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(lines)
            handle.flush()
            os.fsync(handle.fileno())
        self._seqs.update(row[0] for row in new)
        return len(new)
