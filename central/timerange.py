"""The times the API accepts: a bounded range instead of Python's years 1 to 9999.

Time arithmetic near those ends overflows (a range widened to whole days, a default span
subtracted from an ``end`` in year 1) and the databases disagree about them, so every time
a request brings in is refused with a 422 outside these bounds, before any code uses it:

- query parameters (``from``, ``to``) and a personal token's ``expires_at``
  (:data:`BoundedTime`): :data:`EARLIEST` to :data:`LATEST`;
- readings and a batch's ``sent_at``: :data:`EARLIEST` to a day past the server clock
  (checked with the app's clock in :mod:`central.telemetry.checks`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Query
from pydantic import AfterValidator, AwareDatetime
from pydantic_core import PydanticCustomError

from central.problems import Invalid

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
        raise PydanticCustomError(
            "time_out_of_range",
            "{value} está fuera del rango aceptado, de {earliest} a {latest}",
            {"value": iso_z(value), "earliest": iso_z(EARLIEST), "latest": iso_z(LATEST)},
        )
    return utc


BoundedTime = Annotated[AwareDatetime, AfterValidator(bounded_time)]


@dataclass(frozen=True)
class TimeRange:
    """A query's ``?from=&to=``: ``start`` inclusive, ``end`` exclusive, either may be open
    (each route says what an open end means)."""

    start: datetime | None
    end: datetime | None


async def time_range(
    start: Annotated[
        BoundedTime | None, Query(alias="from", description=f"Inclusive, ISO 8601 with an offset, {ACCEPTED_RANGE}")
    ] = None,
    end: Annotated[
        BoundedTime | None, Query(alias="to", description=f"Exclusive, ISO 8601 with an offset, {ACCEPTED_RANGE}")
    ] = None,
) -> TimeRange:
    """The one pair of time-range parameters every route takes (one name, one error).
    ``async`` because it does no I/O: FastAPI runs a plain ``def`` dependency in the thread
    pool, a trip between threads on every request for nothing."""
    if start is not None and end is not None:
        check_order(start, end)
    return TimeRange(start, end)


def check_order(start: datetime, end: datetime) -> None:
    """422 unless ``start`` is before ``end`` (the message says both, as JSON writes them)."""
    if start >= end:
        raise Invalid(f"from {iso_z(start)} no es anterior a to {iso_z(end)}", code="invalid_time_range")


Range = Annotated[TimeRange, Depends(time_range)]
"""Route parameter alias: ``span: Range`` reads ``?from=&to=``."""
