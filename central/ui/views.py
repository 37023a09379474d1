"""What the console's pages show, built from the API's answers or, for the Resumen, from the
stored values :mod:`central.ui.summary` reads (pure: no I/O, no clock).

Nothing here recomputes a figure the API gives: the rows pick the stored latest values, the
API's aggregates and counts, and put them side by side.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from central.ui.format import SANTIAGO, parse_time

COLOUR_NAMES = {"green": "verde", "yellow": "amarillo", "red": "rojo", "none": "sin DGA"}
REASONS = {
    "accepted": "último envío aceptado",
    "shadowed": "modo sombra: armado sin enviar",
    "pending": "pendiente de envío",
    "sending": "enviándose",
    "review": "retenido para revisión",
    "needs_review": "espera confirmación",
    "late": "atrasado",
    "rejected": "rechazado por la DGA",
    "retry_scheduled": "sin respuesta: se reintenta",
    "unrecoverable": "informante no registrado en la obra",
    "no_data": "sin datos para declarar",
    "blocked": "informante bloqueado",
    "no_slot_yet": "aún sin hora vencida",
    "discarded": "descartado",
    "none": "sin reporte DGA configurado",
}
SHOWN = ("flow", "totalizer", "level", "water_table")


@dataclass(frozen=True)
class SummaryRow:
    code: str
    name: str
    latitude: float | None
    longitude: float | None
    values: dict[str, float | None]
    last_ts: datetime | None
    online: bool
    open_alerts: int
    colour: str
    reason: str
    slot: datetime | None


@dataclass
class PointLatest:
    """A point with the newest stored value of each of its variables and the newest reading's time."""

    code: str
    name: str
    latitude: float | None
    longitude: float | None
    values: dict[str, float | None] = field(default_factory=dict)
    last_ts: datetime | None = None


def summary_rows(
    points: Iterable[PointLatest],
    open_alerts: Mapping[str, int],
    lights: Mapping[str, Any],
    now: datetime,
    offline_after_s: float,
) -> list[SummaryRow]:
    """One row per point: latest values, online (a reading younger than ``offline_after_s``),
    open alerts, and the semáforo (``none`` where DGA reporting is off)."""
    rows = []
    for point in points:
        light = lights.get(point.code)
        online = point.last_ts is not None and (now - point.last_ts).total_seconds() < offline_after_s
        rows.append(
            SummaryRow(
                code=point.code,
                name=point.name,
                latitude=point.latitude,
                longitude=point.longitude,
                values={name: point.values.get(name) for name in SHOWN},
                last_ts=point.last_ts,
                online=online,
                open_alerts=open_alerts.get(point.code, 0),
                colour=light.colour if light else "none",
                reason=light.reason if light else "none",
                slot=light.slot if light else None,
            )
        )
    return rows


def markers(rows: Iterable[SummaryRow]) -> list[dict[str, Any]]:
    """The map's markers: points with coordinates, coloured by their semáforo."""
    return [
        {
            "code": row.code,
            "name": row.name,
            "lat": row.latitude,
            "lon": row.longitude,
            "colour": row.colour,
            "label": COLOUR_NAMES[row.colour],
        }
        for row in rows
        if row.latitude is not None and row.longitude is not None
    ]


def _epoch(text: str) -> float:
    return parse_time(text).timestamp()


def chart_data(hours: list[Mapping[str, Any]], days: list[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Series for the charts, straight from the API's aggregates (times in epoch seconds)."""
    return {
        "t": [_epoch(item["start"]) for item in hours],
        "flow_avg": [item["flow_avg_lps"] for item in hours],
        "flow_min": [item["flow_min_lps"] for item in hours],
        "flow_max": [item["flow_max_lps"] for item in hours],
        "level_min": [item["level_min_m"] for item in hours],
        "level_max": [item["level_max_m"] for item in hours],
        "water_table_min": [item["water_table_min_m"] for item in hours],
        "water_table_max": [item["water_table_max_m"] for item in hours],
        "day_t": [_epoch(item["start"]) for item in days],
        "day_volume": [item["volume_m3"] for item in days],
    }


@dataclass(frozen=True)
class MonthRow:
    month: str  # YYYY-MM in Santiago's calendar
    volume_m3: float | None
    allowed_m3: float | None  # the water right over the whole month
    share: float | None  # volume / allowed


def month_rows(months: Iterable[Mapping[str, Any]], water_right_lps: float | None) -> list[MonthRow]:
    """Each month's extracted volume (the API's) beside the volume the right allows in it
    (L/s over the month's seconds, in m3)."""
    rows = []
    for item in months:
        start, end = parse_time(item["start"]), parse_time(item["end"])
        allowed = water_right_lps * (end - start).total_seconds() / 1000 if water_right_lps else None
        volume = item["volume_m3"]
        share = volume / allowed if volume is not None and allowed else None
        rows.append(MonthRow(start.astimezone(SANTIAGO).strftime("%Y-%m"), volume, allowed, share))
    return rows


def day_range(first: date | None, last: date | None, today: date, default_days: int = 7) -> tuple[date, date]:
    """The chosen days (both included), defaulting to the last ``default_days``; swapped if reversed."""
    last = last or today
    first = first or last - timedelta(days=default_days - 1)
    return (first, last) if first <= last else (last, first)


def local_midnight(day: date) -> datetime:
    """A Santiago calendar day's start, as the API wants it (an aware time)."""
    return datetime(day.year, day.month, day.day, tzinfo=SANTIAGO)
