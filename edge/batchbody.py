"""A batch's gzip body, compressed up to its header ahead of time.

The uploader reads and compresses batch k+1 while batch k is in flight (issue 16: a
backlog drain paid the agent's work and the server's one after the other). Only the
header (``sent_at``, the buffer's figures) must wait for the moment of sending, so the
document puts ``readings`` first (JSON objects are unordered; the server reads either
order) and the compressor's state after them is copied for each send: a retry of the same
rows sends a fresh header without compressing the readings again.
"""

from __future__ import annotations

import zlib
from datetime import datetime

from protocols.uplink import AgentStatus, StoredRow, batch_header_json, readings_json

GZIP_WBITS = 16 + zlib.MAX_WBITS
# zlib's default level: nearly level 9's size (gzip.compress's default, used before) in a
# fraction of its time (benchmarks/RESULTS.md, "Figures cited by the code"). The uplink may be
# a metered cellular link, so not level 1.
COMPRESS_LEVEL = 6


class BatchBody:
    """Stored rows, their seqs, and their compressed ``{"readings":[...],`` prefix.

    ``whole``: the rows are every reading the buffer held from the first's seq to the last's
    (read without skipping any point), so acknowledging them deletes that seq range.
    """

    def __init__(self, rows: list[StoredRow], *, whole: bool = False) -> None:
        self.rows = rows
        self.whole = whole
        self._compressor = zlib.compressobj(COMPRESS_LEVEL, zlib.DEFLATED, GZIP_WBITS)
        self._prefix = self._compressor.compress(b'{"readings":' + readings_json(rows) + b",")

    @property
    def seqs(self) -> list[int]:
        return [row[0] for row in self.rows]

    @property
    def last_seq(self) -> int:
        """The newest seq in the batch (0 for a heartbeat): the next batch starts after it."""
        return self.rows[-1][0] if self.rows else 0

    def gzip(self, gateway: str, sent_at: datetime, agent: AgentStatus | None) -> bytes:
        """The whole gzip body, stamped now."""
        compressor = self._compressor.copy()
        return self._prefix + compressor.compress(batch_header_json(gateway, sent_at, agent)) + compressor.flush()
