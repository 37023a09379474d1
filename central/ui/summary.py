"""The Resumen's figures, read in a fixed number of statements whatever the number of points.

The busiest page shows every visible point with its stored latest values (the table ingest
keeps for ``GET /api/v1/latest``), its open alerts and its semáforo. Read point by point,
or page by page through the API's list functions (a count and a page of models per list),
its cost grew with the fleet; here it is one statement per concern, each asked of the domain
that owns the table (``central/db/ownership.py``): the points (core), their latest values
(telemetry), open alerts counted per point (alerts), and compliance's semáforo of every work.
No figure is computed here: the values are the stored ones, the colours compliance's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from central.core import lookups as core_lookups
from central.core.auth.models import User
from central.db import Connection
from central.telemetry import lookups as telemetry_lookups
from central.telemetry.alerts import store as alert_store
from central.ui import Lights
from central.ui.views import PointLatest


@dataclass(frozen=True)
class SummaryData:
    points: list[PointLatest]  # by code
    open_alerts: dict[str, int]  # by point code; points without any are absent
    lights: dict[str, Any]  # compliance's semáforo by point code; works without DGA reporting are absent


def _points(conn: Connection, user: User) -> tuple[list[PointLatest], dict[int, PointLatest]]:
    by_id = {
        row["id"]: PointLatest(row["code"], row["name"], row["latitude"], row["longitude"])
        for row in core_lookups.visible_points(conn, user)
    }
    for row in telemetry_lookups.latest_values(conn, None if user.is_admin else user.id):
        point = by_id.get(row["point_id"])
        if point is None:
            continue
        point.values[row["variable"]] = row["value"]
        if point.last_ts is None or row["ts"] > point.last_ts:
            point.last_ts = row["ts"]
    return list(by_id.values()), by_id


def read_summary(conn: Connection, user: User, lights: Lights, now: datetime) -> SummaryData:
    """The points ``user`` may see (administrators: all), their latest values, open alerts and
    lights: four statements at any fleet size."""
    points, by_id = _points(conn, user)
    counts = {by_id[point_id].code: n for point_id, n in alert_store.open_by_point(conn).items() if point_id in by_id}
    return SummaryData(points, counts, lights(conn, None if user.is_admin else set(by_id), now))
