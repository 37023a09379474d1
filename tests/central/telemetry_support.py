"""A small site for the telemetry tests, seeded through :mod:`tests.factories` (no argon2 hashing: fast).

- points P1 (sensor depth 50 m, flow cut-off 0.5 L/s), P2 (no depth, no cut-off), P3;
- gateway ``gw-norte`` writes P1 and P2, gateway ``gw-sur`` writes P3;
- ``admin`` sees everything, ``ana`` sees only P1.

The fixtures ``site`` and ``site_client`` are the suite's, in tests/conftest.py.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from httpx import Response

from central.app import create_app
from central.db import Connection, Database
from central.settings import Settings
from protocols.clock import ManualClock
from protocols.uplink import INGEST_PATH
from tests.factories import add_gateway, add_point, add_user, grant

START = "2026-11-28T13:00:00+00:00"
NOON = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
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


def noon_readings(first_count: float, second_count: float) -> list[dict[str, Any]]:
    """P1 from 12:00 to 12:02 on 28 November: a flow under its cut-off and a level, then a flow
    and the totalizer's ``first_count``, then its ``second_count`` and a level that timed out."""
    return [
        reading(1, "flow", NOON, 0.2),
        reading(2, "level", NOON, 20.0),
        reading(3, "flow", NOON + timedelta(minutes=1), 7.25),
        reading(4, "totalizer", NOON + timedelta(minutes=1), first_count),
        reading(5, "totalizer", NOON + timedelta(minutes=2), second_count),
        reading(6, "level", NOON + timedelta(minutes=2), None, quality="timeout"),
    ]


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


def messy_series(
    seed: int,
    start: datetime,
    minutes: int,
    *,
    steps: list[int],
    jitter_s: list[float] | None = None,
    point: str = "P1",
) -> list[dict[str, Any]]:
    """Flow, totalizer (reset now and then) and level of ``point`` for ``minutes`` from ``start``,
    every minute or so (the step drawn once from ``steps``), with gaps and timeouts: what a real
    meter sends. ``jitter_s``: seconds past the minute to draw each timestamp from (None: on the
    minute). One ``seed``, one series."""
    rng, out, total, seq = random.Random(seed), [], 500.0, 0
    for minute in range(0, minutes, rng.choice(steps)):
        if rng.random() < 0.03:
            continue
        ts = start + timedelta(minutes=minute, seconds=rng.choice(jitter_s) if jitter_s else 0)
        total = rng.uniform(0, 5) if rng.random() < 0.002 else total + rng.uniform(0, 0.9)
        for variable, value in (("flow", rng.uniform(-1, 20)), ("totalizer", total), ("level", rng.uniform(5, 30))):
            seq += 1
            timeout = rng.random() < 0.02
            quality = "timeout" if timeout else "good"
            out.append(reading(seq, variable, ts, None if timeout else round(value, 3), point=point, quality=quality))
    return out


def seed_site(conn: Connection, now: datetime) -> None:
    """The points, gateways and users described in the module docstring."""
    for username, admin, token in (("admin", True, ADMIN_TOKEN), ("ana", False, ANA_TOKEN)):
        add_user(conn, username, now, token=token, is_admin=admin)
    for code, depth, cutoff in (("P1", 50.0, 0.5), ("P2", None, 0.0), ("P3", None, 0.0)):
        add_point(conn, code, now, sensor_depth_m=depth, flow_cutoff_lps=cutoff)
    for name, token, codes in (("gw-norte", GATEWAY_TOKEN, ("P1", "P2")), ("gw-sur", OTHER_GATEWAY_TOKEN, ("P3",))):
        add_gateway(conn, name, token, codes, now)
    grant(conn, "ana", "P1")


def santiago(utc: str) -> str:
    """A bucket label as the API writes it in the default zone: ``utc`` with Santiago's offset."""
    return datetime.fromisoformat(utc).astimezone(ZoneInfo("America/Santiago")).isoformat()


def bucket(start: str, end: str, **values: Any) -> dict[str, Any]:
    """One item of an aggregates answer: the bucket from ``start`` to ``end`` (UTC, labelled in
    Santiago), its summaries None but for ``values``."""
    empty = {
        "flow_min_lps": None,
        "flow_max_lps": None,
        "flow_avg_lps": None,
        "volume_m3": None,
        "level_min_m": None,
        "level_max_m": None,
        "water_table_min_m": None,
        "water_table_max_m": None,
    }
    return {"start": santiago(start), "end": santiago(end), **empty, **values}


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

    def aggregates(self, start: str, end: str, *, point: str = "P1", **params: Any) -> Response:
        """GET ``point``'s aggregates from ``start`` to ``end`` (``params``: bucket, tz, interval_s, format, ...)."""
        return self.get(f"/api/v1/points/{point}/aggregates", from_=start, to=end, **params)

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
