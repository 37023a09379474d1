"""Calendar buckets for aggregates (pure).

Hour buckets are UTC hours. Day and month buckets follow a time zone's calendar (by default
America/Santiago, where regulators and operators count days), so a day is 23, 24 or 25
hours long around daylight-saving changes. A requested range is widened to whole buckets.

SQLite has no time-zone database, so the SQL groups rows by local calendar text computed
with a per-range list of UTC offsets (:func:`offset_segments`); PostgreSQL uses
``AT TIME ZONE``. Both produce the same keys (``YYYY-MM-DDTHH`` for hours in UTC,
``YYYY-MM-DD`` for days, ``YYYY-MM`` for months), mapped back here to bucket starts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal, NamedTuple
from zoneinfo import ZoneInfo

Bucket = Literal["hour", "day", "month"]
DEFAULT_TZ = "America/Santiago"
BUCKET_NAMES = {"hour": "una hora", "day": "un día", "month": "un mes"}
KEY_LENGTH: dict[Bucket, int] = {"hour": 13, "day": 10, "month": 7}
HOUR = timedelta(hours=1)


class Span(NamedTuple):
    key: str
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive


def _local_start(when: datetime, bucket: Bucket, tz: ZoneInfo) -> datetime:
    local = when.astimezone(tz)
    if bucket == "day":
        return datetime(local.year, local.month, local.day, tzinfo=tz)
    return datetime(local.year, local.month, 1, tzinfo=tz)


def _next_local(start: datetime, bucket: Bucket, tz: ZoneInfo) -> datetime:
    local = start.astimezone(tz)
    if bucket == "day":
        following = (local.replace(tzinfo=None) + timedelta(days=1)).date()
        return datetime(following.year, following.month, following.day, tzinfo=tz)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return datetime(year, month, 1, tzinfo=tz)


def bucket_start(when: datetime, bucket: Bucket, tz: ZoneInfo) -> datetime:
    """The UTC start of the bucket holding ``when``."""
    if bucket == "hour":
        return when.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return _local_start(when, bucket, tz).astimezone(UTC)


def next_start(start: datetime, bucket: Bucket, tz: ZoneInfo) -> datetime:
    if bucket == "hour":
        return start + timedelta(hours=1)
    return _next_local(start, bucket, tz).astimezone(UTC)


def key_of(start: datetime, bucket: Bucket, tz: ZoneInfo) -> str:
    """The text the SQL groups by for the bucket starting at ``start``."""
    shown = start.astimezone(UTC) if bucket == "hour" else start.astimezone(tz)
    return shown.isoformat()[: KEY_LENGTH[bucket]]  # YYYY-MM-DDTHH:MM...: years are 2000 to 2100 (timerange)


def spans(start: datetime, end: datetime, bucket: Bucket, tz: ZoneInfo, limit: int) -> list[Span]:
    """Every bucket meeting [start, end), in order; ValueError beyond ``limit`` buckets."""
    if bucket == "hour":
        return _hours(bucket_start(start, bucket, tz), end, limit)
    out: list[Span] = []
    current = bucket_start(start, bucket, tz)
    while current < end:
        following = next_start(current, bucket, tz)
        out.append(Span(key_of(current, bucket, tz), current, following))
        if len(out) > limit:
            raise ValueError(
                f"más de {limit} intervalos de {BUCKET_NAMES[bucket]}; pida un rango más corto o un intervalo mayor"
            )
        current = following
    return out


def _hours(first: datetime, end: datetime, limit: int) -> list[Span]:
    """UTC hours from ``first`` (an hour start) on: all alike, so counted rather than stepped
    through (a year is 8,760)."""
    count = -((first - end) // HOUR)
    if count > limit:
        raise ValueError(
            f"más de {limit} intervalos de {BUCKET_NAMES['hour']}; pida un rango más corto o un intervalo mayor"
        )
    starts = [first + HOUR * index for index in range(count + 1)]
    return [Span(starts[index].isoformat()[:13], starts[index], starts[index + 1]) for index in range(count)]


def _offset_minutes(when: datetime, tz: ZoneInfo) -> int:
    return int(when.astimezone(tz).utcoffset().total_seconds() // 60)


def _change_between(low: datetime, high: datetime, tz: ZoneInfo) -> datetime:
    """The first instant in (low, high] with ``high``'s offset (to the second)."""
    target = _offset_minutes(high, tz)
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if _offset_minutes(middle, tz) == target:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


def offset_segments(start: datetime, end: datetime, tz: ZoneInfo) -> list[tuple[datetime | None, int]]:
    """[(until, offset_minutes), ...]: the UTC offset in force before each ``until`` (the
    last has ``until`` None), covering [start, end). Found by stepping 6 hours and bisecting."""
    segments: list[tuple[datetime | None, int]] = []
    step = timedelta(hours=6)
    current, offset = start, _offset_minutes(start, tz)
    while current < end:
        probe = min(current + step, end)
        if _offset_minutes(probe, tz) != offset:
            change = _change_between(current, probe, tz)
            segments.append((change, offset))
            offset, current = _offset_minutes(probe, tz), change
        else:
            current = probe
    segments.append((None, offset))
    return segments
