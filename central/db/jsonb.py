"""Many rows in one PostgreSQL statement: a JSON array sent as one text parameter.

The statement reads it with ``jsonb_array_elements(CAST(:rows AS JSONB)) AS r`` and each row's
values as ``r->>0``, ``r->>1``...: one statement and one parameter for all of a batch's rows,
where an ``executemany`` paid the driver's work once per row (ingest's readings and latest
values, an alert evaluation's rule states). JSON carries a double as its shortest
round-trip text and a time to the microsecond, so the values arrive exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

_ENCODER = msgspec.json.Encoder()


def json_rows(rows: Sequence[Any]) -> str:
    """``rows`` (tuples, or values msgspec encodes) as the text of one JSON array, encoded in C."""
    return _ENCODER.encode(rows).decode()
