"""Stored readings as every regulator reads them (pure): a sample, the one nearest a time,
and a reading's value as a :class:`~decimal.Decimal` through its shortest repr, so that 12.345
stays 12.345 and rounds the way a person expects."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from protocols.uplink import Quality


@dataclass(frozen=True)
class Sample:
    """One stored reading of one variable."""

    ts: datetime
    value: float | Decimal | None
    quality: Quality = Quality.GOOD


def as_decimal(value: float | Decimal) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(repr(float(value)))


def in_window(samples: Sequence[Sample], at: datetime, window: timedelta) -> list[Sample]:
    return [s for s in samples if abs(s.ts - at) <= window]


def reading_at(samples: Sequence[Sample], at: datetime, window: timedelta) -> Sample | None:
    """The usable reading nearest to ``at`` within ``window`` either side; earlier wins a tie."""
    usable = [s for s in in_window(samples, at, window) if s.quality.has_value and s.value is not None]
    if not usable:
        return None
    return min(usable, key=lambda s: (abs(s.ts - at), s.ts > at))
