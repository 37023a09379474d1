"""Turning due DGA slots into ledger rows: values from readings, validation, no-data gaps.

A slot is evaluated once its grace time has passed; what it would declare is stored with
it (the values and the formatted strings). What was measured is sent as measured; only values
that cannot be physical wait in ``review`` for a person, with an alert raised in the same pass
(:func:`compliance.events.announce_hold`); a slot without data is a visible ``no_data`` gap,
evaluated again whenever its readings arrive late, at any age (:func:`recheck_gaps`, on the
runs :mod:`compliance.late_data` takes).
Nothing here talks to the DGA.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from central.core import lookups
from central.db import Connection
from central.telemetry.rollup import StaleHours
from compliance.config_store import StoredConfig
from compliance.dga import NAME
from compliance.dga.config import DgaWorkConfig
from compliance.dga.format import FormatError, build_measurement
from compliance.dga.slots import deadline, due_slots, period_start
from compliance.dga.validation import ValidationContext, validate
from compliance.dga.values import (
    NoData,
    SlotValues,
    ValuesSettings,
    as_decimal,
    slot_values,
    slots_reading_between,
)
from compliance.events import announce_hold
from compliance.ledger import EventKind
from compliance.ledger_store import (
    fill_gap,
    hold_work,
    insert_evaluated,
    known_slots,
    last_accepted,
)
from compliance.readings import meter_changed_between, meter_changes, slot_readings
from compliance.settings import ComplianceSettings
from compliance.worker_actions import Action

VALUE_FIELDS = ("caudal", "totalizador", "nivel_freatico", "altura_limnimetrica_cm")


@dataclass(frozen=True)
class Evaluation:
    event: EventKind
    values: dict[str, str | None] | None
    measurement: dict[str, str] | None
    reasons: list[str]


def values_settings(config: DgaWorkConfig, point: dict[str, Any]) -> ValuesSettings:
    depth = point.get("sensor_depth_m")
    return ValuesSettings(
        work_type=config.work_type,
        period=config.transmission_period,
        caudal_mode=config.caudal_mode_in_force,
        window=timedelta(seconds=config.instant_window_s),
        sensor_depth_m=None if depth is None else as_decimal(depth),
    )


def values_text(values: SlotValues) -> dict[str, str | None]:
    """The values as decimal text (stored exactly, rounded only by the formatter)."""
    return {name: None if getattr(values, name) is None else str(getattr(values, name)) for name in VALUE_FIELDS}


def effective_values(row: dict[str, Any]) -> SlotValues:
    """The values to declare: the computed ones with a person's corrections on top."""
    values = json.loads(row["values_json"] or "{}")
    values.update(json.loads(row["corrected_values"] or "{}"))
    return SlotValues(**{name: None if values.get(name) is None else Decimal(values[name]) for name in VALUE_FIELDS})


def _context(conn: Connection, config: DgaWorkConfig, point: dict[str, Any], slot: datetime) -> ValidationContext:
    last = last_accepted(conn, point["id"], NAME, slot)
    totalizer = None if last is None else effective_values(last).totalizador
    changed = last is not None and meter_changed_between(conn, point["id"], last["slot"], slot)
    return ValidationContext.for_work(
        config, last_accepted_totalizer=totalizer, meter_changed_since_last_accepted=changed
    )


def evaluate(conn: Connection, config: DgaWorkConfig, point: dict[str, Any], slot: datetime) -> Evaluation:
    """What ``slot`` would declare, and whether it may go without a person looking."""
    settings = values_settings(config, point)
    readings = slot_readings(conn, point["id"], slot, settings)
    changes = meter_changes(
        conn, point["id"], period_start(slot, settings.period) - settings.window, slot + settings.window
    )
    result = slot_values(slot, readings, settings, changes)
    reasons = validate(result, _context(conn, config, point, slot))
    if isinstance(result, NoData):
        return Evaluation(EventKind.NO_DATA, None, None, reasons)
    measurement = None
    try:
        measurement = build_measurement(config.work_type, config.standard, config.mining_waters, slot, result)
    except FormatError as exc:
        reasons.append(str(exc))
    event = EventKind.HELD if reasons else EventKind.READY
    return Evaluation(event, values_text(result), measurement, reasons)


def _point(conn: Connection, point_id: int) -> dict[str, Any]:
    return lookups.point_row(conn, point_id) or {}


def create_due(conn: Connection, stored: StoredConfig, now: datetime, settings: ComplianceSettings) -> list[Action]:
    """Ledger rows for every due slot of the work not in the ledger yet (bounded backfill)."""
    hold_work(conn, stored.point_id, NAME)
    config: DgaWorkConfig = stored.config
    since = max(config.valid_from, now - timedelta(days=settings.backfill_days))
    grace = timedelta(minutes=config.grace_minutes)
    known = known_slots(conn, stored.point_id, NAME, since)
    point = _point(conn, stored.point_id)
    actions = []
    for slot in due_slots(since, now, config.transmission_period, grace):
        if slot in known or not config.active_at(slot):
            continue
        found = evaluate(conn, config, point, slot)
        moved, created = insert_evaluated(conn, stored.point_id, NAME, slot, config.mode.value, found, now)
        if created is not None and found.event is EventKind.HELD:
            announce_hold(
                conn,
                stored.point_id,
                stored.point_code,
                created,
                slot,
                deadline(slot),
                found.reasons,
                now,
                regulator=NAME,
            )
        if created is not None:
            actions.append(
                Action(stored.point_code, NAME, slot, "created", moved.state.value, "; ".join(found.reasons))
            )
    return actions


def slots_reading(config: DgaWorkConfig, run: StaleHours) -> list[datetime]:
    """The work's slots whose values read readings in the changed hours ``run`` (docs/dga.md,
    "Accumulated data")."""
    reading = values_settings(config, {})
    return [slot for slot in slots_reading_between(run.lo, run.hi, reading) if config.active_at(slot)]


def recheck_gaps(conn: Connection, stored: StoredConfig, rows: Sequence[dict[str, Any]], now: datetime) -> list[Action]:
    """The ``no_data`` slots ``rows`` evaluated again; those that now have data become sendable."""
    point = _point(conn, stored.point_id) if rows else {}
    actions = []
    for row in rows:
        found = evaluate(conn, stored.config, point, row["slot"])
        if found.event is EventKind.NO_DATA:
            continue
        moved = fill_gap(conn, row, found, now)
        if found.event is EventKind.HELD:
            announce_hold(
                conn,
                stored.point_id,
                stored.point_code,
                row["id"],
                row["slot"],
                deadline(row["slot"]),
                found.reasons,
                now,
                regulator=NAME,
            )
        actions.append(
            Action(stored.point_code, NAME, row["slot"], "rechecked", moved.state.value, "; ".join(found.reasons))
        )
    return actions
