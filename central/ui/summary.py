"""The Resumen's figures, read in a fixed number of statements whatever the number of points.

The busiest page shows every visible point with its stored latest values (the table ingest
keeps for ``GET /api/v1/latest``), its open alerts and its semáforo. Read point by point,
or page by page through the API's list functions (a count and a page of models per list),
its cost grew with the fleet; here it is one statement per concern: points with their
latest values, open alerts counted per point, and compliance's semáforo of every work.
No figure is computed here: the values are the stored ones, the colours compliance's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from central.core.auth import User
from central.db import Connection
from central.ui import Lights
from central.ui.views import PointLatest

_POINTS = (
    "SELECT p.id, p.code, p.name, p.latitude, p.longitude, l.variable, l.ts, l.value"
    " FROM points p LEFT JOIN latest_readings l ON l.point_id = p.id"
)
_THEIRS = " WHERE p.id IN (SELECT point_id FROM user_points WHERE user_id = :user)"
_OPEN_ALERTS = (
    "SELECT point_id, COUNT(*) AS n FROM alerts WHERE status = 'open' AND point_id IS NOT NULL GROUP BY point_id"
)


@dataclass(frozen=True)
class SummaryData:
    points: list[PointLatest]  # by code
    open_alerts: dict[str, int]  # by point code; points without any are absent
    lights: dict[str, Any]  # compliance's semáforo by point code; works without DGA reporting are absent


def _points(conn: Connection, user: User) -> tuple[list[PointLatest], dict[int, PointLatest]]:
    params = {} if user.is_admin else {"user": user.id}
    rows = conn.fetchall(f"{_POINTS}{'' if user.is_admin else _THEIRS} ORDER BY p.code", params)
    by_id: dict[int, PointLatest] = {}
    for row in rows:
        point = by_id.get(row["id"])
        if point is None:
            point = by_id[row["id"]] = PointLatest(row["code"], row["name"], row["latitude"], row["longitude"])
        if row["variable"] is not None:
            point.values[row["variable"]] = row["value"]
            if point.last_ts is None or row["ts"] > point.last_ts:
                point.last_ts = row["ts"]
    return list(by_id.values()), by_id


def read_summary(conn: Connection, user: User, lights: Lights, now: datetime) -> SummaryData:
    """The points ``user`` may see (administrators: all), their open alerts and lights: three
    statements at any fleet size."""
    points, by_id = _points(conn, user)
    counts = {by_id[row["point_id"]].code: int(row["n"]) for row in conn.fetchall(_OPEN_ALERTS)
              if row["point_id"] in by_id}
    return SummaryData(points, counts, lights(conn, None if user.is_admin else set(by_id), now))
