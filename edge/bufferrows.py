"""A reading as the edge buffer stores it, and the checks that let only valid ones in.

Every reading is checked against the wire schema (:class:`protocols.uplink.Reading`) when it
is appended, so a bad one is refused by the poll that made it and can never block the
uploader later; the uploader then sends stored rows as they are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError

from protocols.messages_es import problem
from protocols.uplink import Quality, Reading

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)

Row = tuple[str, str, str, int, float | None, str, str]


@dataclass(frozen=True, slots=True)
class PolledReading:
    """One value as the poller produced it; the buffer assigns ``seq``."""

    device: str
    point: str
    variable: str
    ts: datetime
    value: float | None
    unit: str
    quality: Quality


def to_us(ts: datetime) -> int:
    """Aware datetime -> UTC epoch microseconds, exactly."""
    return (ts - EPOCH) // MICROSECOND


def from_us(ts_us: int) -> datetime:
    return EPOCH + ts_us * MICROSECOND


def to_row(reading: PolledReading, index: int) -> Row:
    """Validate against the wire schema now, so a bad reading never blocks the uploader later."""
    try:
        valid = Reading(
            seq=0,
            device=reading.device,
            point=reading.point,
            variable=reading.variable,
            ts=reading.ts,
            value=reading.value,
            unit=reading.unit,
            quality=reading.quality,
        )
    except ValidationError as exc:
        where = f"la lectura {index} ({reading.device}/{reading.point}/{reading.variable} a las {reading.ts})"
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'lectura'}: {problem(dict(e))}" for e in exc.errors())
        raise ValueError(f"{where} no se puede enviar: {problems}") from None
    return (valid.device, valid.point, valid.variable, to_us(valid.ts), valid.value, valid.unit, valid.quality.value)


class RowMaker:
    """:func:`to_row` for a poll cycle, at a fraction of its cost once the texts are known.

    A reading's texts (device, point, variable, unit) are the same at every poll, and only they
    need the wire schema's patterns; once a reading with them has passed :func:`to_row`, one with
    the same texts is valid when its own parts are plainly so (an aware UTC ``datetime``, a
    finite ``float`` or None as its :class:`Quality` says), and is stored as they are. Anything
    else goes through :func:`to_row`, which says what is wrong. Validating every reading again
    was the largest part of the agent's work per poll besides pymodbus (issue 16).
    """

    MAX_KNOWN = 10_000  # texts remembered; a reload may bring new ones, so the set is emptied when full

    def __init__(self) -> None:
        self._known: set[tuple[str, str, str, str]] = set()

    def rows(self, readings: Sequence[PolledReading]) -> list[Row]:
        known, rows = self._known, []
        for index, reading in enumerate(readings):
            texts = (reading.device, reading.point, reading.variable, reading.unit)
            if texts in known and _plainly_valid(reading):
                rows.append((*texts[:3], to_us(reading.ts), reading.value, reading.unit, reading.quality._value_))
                continue
            rows.append(to_row(reading, index))
            if len(known) >= self.MAX_KNOWN:
                known.clear()
            known.add(texts)
        return rows


def _plainly_valid(reading: PolledReading) -> bool:
    """Its timestamp, value and quality are what :class:`Reading` accepts as they are."""
    ts, value, quality = reading.ts, reading.value, reading.quality
    if ts.__class__ is not datetime or ts.tzinfo is not UTC or quality.__class__ is not Quality:
        return False
    if value is None:
        return quality._value_ not in _WITH_VALUE
    return value.__class__ is float and math.isfinite(value) and quality._value_ in _WITH_VALUE


# the texts of the qualities that carry a value (Quality.has_value, without a property call per reading)
_WITH_VALUE = frozenset(quality.value for quality in Quality if quality.has_value)


def to_reading(row: tuple) -> Reading:
    """A stored row back to the wire model (validating again is cheap: faster than model_construct)."""
    seq, device, point, variable, ts_us, value, unit, quality = row
    return Reading(
        seq=seq,
        device=device,
        point=point,
        variable=variable,
        ts=from_us(ts_us),
        value=value,
        unit=unit,
        quality=quality,
    )
