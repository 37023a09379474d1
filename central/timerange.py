"""The times the API accepts: a bounded range instead of Python's years 1 to 9999.

Time arithmetic near those ends overflows (a range widened to whole days, a default span
subtracted from an ``end`` in year 1) and the databases disagree about them, so every time
a request brings in is refused with a 422 outside these bounds, before any code uses it:

- query parameters (``start``, ``end``, ``since``, ``from``, ``to``) and a personal token's
  ``expires_at`` (:data:`BoundedTime`): :data:`EARLIEST` to :data:`LATEST`;
- readings and a batch's ``sent_at``: :data:`EARLIEST` to a day past the server clock
  (checked with the app's clock in :mod:`central.telemetry.checks`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime
from pydantic_core import PydanticCustomError

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def iso_z(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


ACCEPTED_RANGE = f"{iso_z(EARLIEST)} to {iso_z(LATEST)}"


def bounded_time(value: datetime) -> datetime:
    """``value`` in UTC if it lies in the accepted range; else a validation error
    that says the range (its message is shown to the caller as is)."""
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc <= LATEST:
        raise PydanticCustomError("time_out_of_range", "{value} is outside the accepted range, {range}",
                                  {"value": iso_z(value), "range": ACCEPTED_RANGE})
    return utc


BoundedTime = Annotated[AwareDatetime, AfterValidator(bounded_time)]
