"""JSON answers encoded once, by msgspec, for the routes that return thousands of rows.

FastAPI checks a route's return value against its ``response_model`` and serializes it
(pydantic), after the route built its models (pydantic again): for a page of 1,000 readings
or a year of 8,760 hourly buckets that costs more than reading the rows from the database
(``benchmarks/bench_history.py``). Such a route builds plain dicts and lists of the
documented shape from values the database already typed, and answers
``FastJSONResponse(document)``; its ``response_model`` still documents the answer, and a
test checks that the bytes parse to what the model would have written. msgspec writes what
pydantic writes for these values (times in ISO 8601 with ``Z`` or their offset, a
non-finite number as null) but for the spelling of exponents (``1e16``, not ``1e+16``).
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.responses import Response

_ENCODER = msgspec.json.Encoder()


class FastJSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return _ENCODER.encode(content)
