"""Late readings fill gaps, for every regulator alike (docs/dga.md, "Accumulated data").

Telemetry records the runs of hours whose stored readings changed (new or late readings) as
the rollup worker settles them (``hours_changed``, :func:`central.telemetry.rollup.take_changed`);
no gap is polled. Each pass takes those runs once and hands each regulator the runs of the
points it reports (:meth:`~compliance.regulator.Reporting.refill`), in the transaction that
took them: a failure puts every run back for the next pass, for every regulator. The
``no_data`` slots that read a run are evaluated again at any age back to the configuration's
start, or ``CAUDAL_COMPLIANCE_LATE_DATA_DAYS``; those that now have data become sendable.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from central.db import Connection, Database, DatabaseUnavailable
from central.telemetry.rollup import StaleHours, take_changed
from compliance.config_store import StoredConfig
from compliance.ledger_store import in_transaction
from compliance.worker_actions import Action
from protocols.clock import Clock

if TYPE_CHECKING:  # the regulator's protocol names this module's helpers
    from compliance.regulator import Reporting

log = logging.getLogger("caudal.compliance")

CHANGES_PER_TAKE = 500
Runs = dict[int, list[StaleHours]]  # point id -> its runs of changed hours


def _by_point(changes: Iterable[StaleHours]) -> Runs:
    runs: Runs = {}
    for change in changes:
        runs.setdefault(change.point_id, []).append(change)
    return runs


def take_and_refill(
    conn: Connection, reportings: Mapping[str, Reporting], works: Mapping[str, dict[int, StoredConfig]], now: datetime
) -> tuple[int, list[Action]]:
    """One take of changed runs, handed to each regulator's reporting; how many runs were taken
    (``CHANGES_PER_TAKE``: there may be more) and what the gaps became."""
    changes = take_changed(conn, CHANGES_PER_TAKE)
    runs = _by_point(changes)
    actions: list[Action] = []
    for name, reporting in reportings.items():
        configured = works.get(name, {})
        actions += reporting.refill(conn, configured, {p: r for p, r in runs.items() if p in configured}, now)
    return len(changes), actions


async def catch_up(
    db: Database, clock: Clock, reportings: Mapping[str, Reporting], works: Mapping[str, dict[int, StoredConfig]]
) -> list[Action]:
    """Every run telemetry recorded, taken until there are no more (runs of points no regulator
    reports are dropped); what each regulator's gaps became."""
    actions: list[Action] = []
    try:
        while True:
            taken, found = await in_transaction(db, take_and_refill, reportings, works, clock.now())
            actions += found
            if taken < CHANGES_PER_TAKE:
                return actions
    except DatabaseUnavailable:  # the pass stops; the loop logs the outage once
        raise
    except Exception:  # the runs stay recorded for the next pass; sending must not stop meanwhile
        log.exception("falló la evaluación de las lecturas tardías; se reintenta en la próxima pasada")
        return actions


def horizon(since: datetime, now: datetime, late_data_days: int | None) -> datetime:
    """How far back a gap is filled: ``since`` (the configuration's start), or the horizon if later."""
    return since if late_data_days is None else max(since, now - timedelta(days=late_data_days))


def gap_rows(conn: Connection, point_id: int, regulator: str, slots: set[datetime]) -> list[dict[str, Any]]:
    """The ``no_data`` ledger rows of ``slots``, oldest first."""
    if not slots:
        return []
    rows = conn.fetchall(
        "SELECT * FROM compliance_submissions WHERE point_id = :p AND regulator = :r AND state = 'no_data'"
        " AND slot >= :first AND slot <= :last ORDER BY slot",
        {"p": point_id, "r": regulator, "first": min(slots), "last": max(slots)},
    )
    return [row for row in rows if row["slot"] in slots]
