"""How the console writes numbers and times for people in Chile (pure).

Numbers in es-CL: decimal comma and thousands dot (``1.234,5``). Times in Chile's civil
time (America/Santiago, which changes with daylight saving); a DGA slot is named in the
DGA's fixed UTC-4 as well, because that is how the DGA and SNIA write it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

SANTIAGO = ZoneInfo("America/Santiago")
DGA_ZONE = timezone(timedelta(hours=-4))
MISSING = "—"
_SWAP = str.maketrans({",": ".", ".": ","})


def number(value: float | None, decimals: int = 1) -> str:
    """``1234.5`` -> ``1.234,5``; ``None`` -> an em dash (no value)."""
    if value is None:
        return MISSING
    text = f"{value:,.{decimals}f}".translate(_SWAP)
    return text[1:] if text.startswith("-") and text.strip("-0,.") == "" else text


def local_time(ts: datetime | None) -> str:
    """``2026-11-28T13:00Z`` -> ``28-11-2026 10:00`` (Santiago's summer time, UTC-3)."""
    if ts is None:
        return MISSING
    return ts.astimezone(SANTIAGO).strftime("%d-%m-%Y %H:%M")


def dga_slot(ts: datetime | None) -> str:
    """A DGA slot in Santiago time and in the DGA's UTC-4: ``28-11-2026 10:00 (DGA 09:00 UTC-4)``."""
    if ts is None:
        return MISSING
    return f"{local_time(ts)} (DGA {ts.astimezone(DGA_ZONE).strftime('%H:%M')} UTC-4)"


def age(seconds: float | None) -> str:
    """How long ago, in the largest whole unit: ``45 s``, ``12 min``, ``3 h``, ``2 d``."""
    if seconds is None:
        return MISSING
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit}"
    return f"{int(max(seconds, 0))} s"


def parse_time(text: str) -> datetime:
    """An ISO 8601 time from the API (``...Z`` or with an offset) as an aware UTC datetime."""
    return datetime.fromisoformat(text).astimezone(UTC)
