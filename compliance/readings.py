"""Stored readings and meter changes, loaded for slot evaluation and reports.

The ``readings`` and ``meter_changes`` tables belong to telemetry (migration 0100); this
module reads them through ``central.telemetry.lookups`` and maps the rows to compliance's types.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from central.db import Connection
from central.telemetry import lookups
from compliance.dga.config import CaudalMode
from compliance.dga.slots import period_start
from compliance.dga.values import MeterChange, Sample, SlotReadings, ValuesSettings, as_decimal, volume_between
from protocols.uplink import Quality

VARIABLES = ("flow", "totalizer", "level", "water_table")


def samples(
    conn: Connection, point_id: int, variables: Iterable[str], start: datetime, end: datetime
) -> dict[str, list[Sample]]:
    """Readings of ``variables`` with ``start <= ts <= end``, per variable, oldest first."""
    wanted = tuple(variables)
    rows = lookups.readings_between(conn, point_id, wanted, start, end)
    found: dict[str, list[Sample]] = {name: [] for name in wanted}
    for row in rows:
        found[row["variable"]].append(Sample(row["ts"], row["value"], _quality(row["quality"])))
    return found


def _quality(text: str) -> Quality:
    try:
        return Quality(text)
    except ValueError:
        return Quality.DEVICE_ERROR


def slot_readings(conn: Connection, point_id: int, slot: datetime, settings: ValuesSettings) -> SlotReadings:
    """Every reading ``slot_values`` may look at for ``slot``."""
    windows = [(slot - settings.window, slot + settings.window)]
    if settings.caudal_mode is CaudalMode.AVERAGE:
        start = period_start(slot, settings.period)
        windows.append((start - settings.window, start + settings.window))
    merged: dict[str, list[Sample]] = {name: [] for name in VARIABLES}
    for low, high in windows:
        for name, found in samples(conn, point_id, VARIABLES, low, high).items():
            merged[name].extend(s for s in found if s not in merged[name])
    return SlotReadings(**merged)


def meter_changes(conn: Connection, point_id: int, start: datetime, end: datetime) -> list[MeterChange]:
    """Meter swaps in ``(start, end]``; an unknown old final count is the old meter's last reading."""
    changes = []
    for row in lookups.meter_changes_between(conn, point_id, start, end):
        old_final = row["old_final_m3"]
        if old_final is None:
            old_final = lookups.last_totalizer_before(conn, point_id, row["ts"])
        if old_final is not None:
            changes.append(MeterChange(row["ts"], as_decimal(old_final), as_decimal(row["new_base_m3"])))
    return changes


def meter_changed_between(conn: Connection, point_id: int, after: datetime, until: datetime) -> bool:
    return bool(lookups.meter_changes_between(conn, point_id, after, until))


def _edge_totalizer(conn: Connection, point_id: int, start: datetime, end: datetime, newest: bool) -> Sample | None:
    row = lookups.totalizer_at_edge(conn, point_id, start, end, newest)
    return None if row is None else Sample(row["ts"], row["value"])


def volume_in(conn: Connection, point_id: int, start: datetime, end: datetime) -> tuple[Decimal | None, str]:
    """Volume extracted in ``[start, end)`` from the first and last totalizer readings in it
    (bridging meter swaps), and the span it covers; ``None`` without two readings."""
    first = _edge_totalizer(conn, point_id, start, end, newest=False)
    last = _edge_totalizer(conn, point_id, start, end, newest=True)
    if first is None or last is None or last.ts <= first.ts:
        return None, "fewer than two totalizer readings in the month"
    changes = meter_changes(conn, point_id, first.ts, last.ts)
    span = f"{first.ts:%Y-%m-%dT%H:%M:%SZ} to {last.ts:%Y-%m-%dT%H:%M:%SZ}"
    return volume_between(first, last, changes), span
