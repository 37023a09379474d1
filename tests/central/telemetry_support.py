"""A small site for the telemetry tests, seeded through :mod:`tests.factories` (no argon2 hashing: fast).

- points P1 (sensor depth 50 m, flow cut-off 0.5 L/s), P2 (no depth, no cut-off), P3;
- gateway ``gw-norte`` writes P1 and P2, gateway ``gw-sur`` writes P3;
- ``admin`` sees everything, ``ana`` sees only P1.

The fixtures ``site`` and ``site_client`` are the suite's, in tests/conftest.py.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from central.app import create_app
from central.db import Connection, Database
from central.settings import Settings
from protocols.clock import ManualClock
from protocols.uplink import INGEST_PATH
from tests.factories import add_gateway, add_point, add_user, grant

START = "2026-11-28T13:00:00+00:00"
UNITS = {"flow": "L/s", "totalizer": "m3", "level": "m"}
GATEWAY_TOKEN = "gw-norte-token"
OTHER_GATEWAY_TOKEN = "gw-sur-token"
ADMIN_TOKEN = "admin-token"
ANA_TOKEN = "ana-token"


def iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


def reading(
    seq: int,
    variable: str,
    ts: datetime,
    value: float | None,
    *,
    point: str = "P1",
    quality: str = "good",
    unit: str | None = None,
) -> dict[str, Any]:
    return {
        "seq": seq,
        "device": "dev-1",
        "point": point,
        "variable": variable,
        "ts": iso(ts),
        "value": value,
        "unit": UNITS.get(variable, "") if unit is None else unit,
        "quality": quality,
    }


def batch(
    readings: list[dict[str, Any]], sent_at: datetime, *, gateway: str = "gw-norte", agent: dict[str, Any] | None = None
) -> dict[str, Any]:
    document: dict[str, Any] = {"schema": 1, "gateway": gateway, "sent_at": iso(sent_at), "readings": readings}
    if agent is not None:
        document["agent"] = agent
    return document


def series(
    variable: str,
    start: datetime,
    values: list[float | None],
    *,
    step_s: int = 60,
    first_seq: int = 1,
    point: str = "P1",
) -> list[dict[str, Any]]:
    """Readings of one variable every ``step_s`` seconds from ``start`` (None: a timeout gap)."""
    return [
        reading(
            first_seq + i,
            variable,
            start + timedelta(seconds=step_s * i),
            value,
            point=point,
            quality="good" if value is not None else "timeout",
        )
        for i, value in enumerate(values)
    ]


def seed_site(conn: Connection, now: datetime) -> None:
    """The points, gateways and users described in the module docstring."""
    for username, admin, token in (("admin", True, ADMIN_TOKEN), ("ana", False, ANA_TOKEN)):
        add_user(conn, username, now, token=token, is_admin=admin)
    for code, depth, cutoff in (("P1", 50.0, 0.5), ("P2", None, 0.0), ("P3", None, 0.0)):
        add_point(conn, code, now, sensor_depth_m=depth, flow_cutoff_lps=cutoff)
    for name, token, codes in (("gw-norte", GATEWAY_TOKEN, ("P1", "P2")), ("gw-sur", OTHER_GATEWAY_TOKEN, ("P3",))):
        add_gateway(conn, name, token, codes, now)
    grant(conn, "ana", "P1")


@dataclass
class Site:
    client: TestClient
    clock: ManualClock

    @property
    def db(self) -> Database:
        return self.client.app.state.ctx.db

    def ingest(
        self,
        document: dict[str, Any] | bytes,
        *,
        token: str | None = GATEWAY_TOKEN,
        gzipped: bool = False,
        headers: dict[str, str] | None = None,
    ) -> Response:
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        sent_headers = {"Content-Type": "application/json", **(headers or {})}
        if gzipped:
            body = gzip.compress(body)
            sent_headers["Content-Encoding"] = "gzip"
        if token is not None:
            sent_headers["Authorization"] = f"Bearer {token}"
        return self.client.post(INGEST_PATH, content=body, headers=sent_headers)

    def get(self, path: str, *, token: str = ADMIN_TOKEN, **params: Any) -> Response:
        """GET ``path`` with ``params`` as its query (``from_`` is sent as ``from``, a Python keyword)."""
        query = {("from" if name == "from_" else name): value for name, value in params.items()}
        return self.client.get(path, params=query, headers={"Authorization": f"Bearer {token}"})

    def post(self, path: str, body: dict[str, Any], *, token: str = ADMIN_TOKEN) -> Response:
        return self.client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        with self.db.connect() as conn:
            return conn.fetchall(sql, params)

    def stored(self) -> list[tuple[Any, ...]]:
        """(point, variable, ts, value, raw_value, quality, flags) of every stored reading."""
        rows = self.rows(
            "SELECT p.code, r.variable, r.ts, r.value, r.raw_value, r.quality, r.flags"
            " FROM readings r JOIN points p ON p.id = r.point_id ORDER BY p.code, r.ts, r.variable"
        )
        return [tuple(row.values()) for row in rows]


RESET = (
    "DELETE FROM readings",
    "DELETE FROM readings_hourly",
    "DELETE FROM rollup_pending",
    "DELETE FROM latest_readings",
    "DELETE FROM meter_changes",
    "DELETE FROM audit_log",
    "DELETE FROM hours_changed",
    "UPDATE gateways SET revoked_at = NULL, last_seen_at = NULL, clock_offset_s = NULL, agent_version = NULL,"
    " buffer_depth = NULL, oldest_unsent_s = NULL, dropped_total = NULL, clock_synced = NULL",
)


def site_app(url: str) -> Iterator[TestClient]:
    """The app on the database at ``url``, seeded (the ``site_client`` fixture: one per module)."""
    settings = Settings(database_url=url, secret_key="test-secret-key", workers=False)
    clock = ManualClock(START)
    with TestClient(create_app(settings, clock=clock)) as client:
        with client.app.state.ctx.db.transaction() as conn:
            seed_site(conn, clock.now())
        yield client


def reset_site(client: TestClient) -> Site:
    """The module's app with the telemetry tables emptied, the clock at :data:`START` and no ingest hook."""
    ctx = client.app.state.ctx
    with ctx.db.transaction() as conn:
        for statement in RESET:
            conn.execute(statement)
    ctx.clock = ManualClock(START)
    ctx.on_ingest = None  # tests that want a hook install their own
    return Site(client, ctx.clock)
