"""A small installation for the database-backed alert and notification tests.

- points P1 (water right 12 L/s), P2, P3; gateway ``gw-norte`` writes P1 and P2, ``gw-sur`` P3;
- ``admin`` sees everything, ``ana`` sees P1, ``bob`` sees P3; each has an e-mail address
  (``<name>@agua.example``) but ``notify_email`` off, so only the channels a test adds get mail
  (tests of the profile preferences turn it on with :meth:`World.profile`);
- e-mail goes to a real aiosmtpd server on a free loopback port (started by the ``smtp``
  fixture), configured through the real ``CAUDAL_SMTP_*`` environment variables;
- PostgreSQL databases are copied from a migrated template (fast), SQLite ones migrated fresh.

The fixtures (``world``, ``world_client``, ``smtp``, ``smtp_port``, ``migrated_template``,
``pg_url``) are the suite's, in tests/conftest.py; this module holds what they build on.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from central.app import create_app
from central.context import AppContext
from central.db import Connection, Database
from central.notify import NotifySettings
from central.notify.channels import Notifier
from central.notify.outbox import DbOutbox, deliver_pass
from central.settings import Settings
from protocols.clock import ManualClock
from protocols.uplink import INGEST_PATH
from tests.factories import add_gateway, add_point, add_user, grant

TOKENS = {"admin": "admin-token", "ana": "ana-token", "bob": "bob-token"}
GATEWAYS = {"gw-norte": ("gw-norte-token", ("P1", "P2")), "gw-sur": ("gw-sur-token", ("P3",))}
UNITS = {"flow": "L/s", "totalizer": "m3", "level": "m"}


def iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


def seed(conn: Connection, now: datetime) -> None:
    """The points, gateways and users described in the module docstring."""
    for username, token in TOKENS.items():
        add_user(
            conn,
            username,
            now,
            token=token,
            is_admin=username == "admin",
            email=f"{username}@agua.example",
            notify_email=False,
        )
    for code, right in (("P1", 12.0), ("P2", None), ("P3", None)):
        add_point(conn, code, now, water_right_lps=right)
    for name, (token, codes) in GATEWAYS.items():
        add_gateway(conn, name, token, codes, now)
    for username, code in (("ana", "P1"), ("bob", "P3")):
        grant(conn, username, code)


@dataclass
class World:
    client: TestClient
    clock: ManualClock

    @property
    def ctx(self) -> AppContext:
        return self.client.app.state.ctx

    @property
    def db(self) -> Database:
        return self.ctx.db

    def ingest(
        self,
        readings: list[dict[str, Any]],
        *,
        gateway: str = "gw-norte",
        sent_at: datetime | None = None,
        agent: dict[str, Any] | None = None,
    ) -> Response:
        document: dict[str, Any] = {
            "schema": 1,
            "gateway": gateway,
            "sent_at": iso(sent_at or self.clock.now()),
            "readings": readings,
        }
        if agent is not None:
            document["agent"] = agent
        headers = {"Authorization": f"Bearer {GATEWAYS[gateway][0]}", "Content-Type": "application/json"}
        response = self.client.post(INGEST_PATH, content=json.dumps(document), headers=headers)
        assert response.status_code == 200, response.text
        assert self.ctx.alert_queue.wait_idle(10), "alert evaluation did not finish"
        return response

    def call(self, method: str, path: str, *, user: str = "admin", **kwargs: Any) -> Response:
        return self.client.request(method, path, headers={"Authorization": f"Bearer {TOKENS[user]}"}, **kwargs)

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        with self.db.connect() as conn:
            return conn.fetchall(sql, params)

    def deliver(self, worker: str = "test-worker", db: Database | None = None) -> int:
        """One outbox pass, as the telemetry worker makes it (``db``: another replica's pool)."""
        ctx = self.ctx
        settings = ctx.notify_settings
        outbox = DbOutbox(db or ctx.db, ctx.secret_box, worker, sms=settings.sms)
        return asyncio.run(deliver_once(outbox, settings, self.clock))

    def profile(self, user: str, **fields: Any) -> None:
        """Change a user's profile (e-mail, phone, notify_email, notify_sms) through the API."""
        response = self.call("PATCH", "/api/v1/users/me", user=user, json=fields)
        assert response.status_code == 200, response.text

    def add_channel(self, user: str, channel: dict[str, Any]) -> dict[str, Any]:
        response = self.call("POST", "/api/v1/users/me/channels", user=user, json=channel)
        assert response.status_code == 201, response.text
        return response.json()


async def deliver_once(outbox: DbOutbox, settings: NotifySettings, clock: ManualClock) -> int:
    async with Notifier(settings) as notifier:
        return await deliver_pass(outbox, notifier, clock)


RESET = (
    "DELETE FROM notification_attempts",
    "DELETE FROM notifications",
    "DELETE FROM notify_channels",
    "DELETE FROM alerts",
    "DELETE FROM alert_rule_states",
    "DELETE FROM alert_rules",
    "DELETE FROM alert_rule_sets",
    "DELETE FROM readings",
    "DELETE FROM latest_readings",
    "DELETE FROM audit_log",
    "DELETE FROM compliance_facts",
    "DELETE FROM compliance_events",
    "DELETE FROM compliance_attempts",
    "DELETE FROM compliance_submissions",
    "DELETE FROM compliance_configs",
    "UPDATE gateways SET last_seen_at = NULL, clock_offset_s = NULL, agent_version = NULL, buffer_depth = NULL,"
    " oldest_unsent_s = NULL, dropped_total = NULL, clock_synced = NULL",
    "UPDATE points SET water_right_lps = CASE WHEN code = 'P1' THEN 12.0 END",
    "UPDATE users SET email = username || '@agua.example', phone = NULL, notify_email = FALSE, notify_sms = FALSE",
)


def world_app(url: str) -> Iterator[TestClient]:
    """The app on the database at ``url``, seeded (the ``world_client`` fixture: one per module)."""
    settings = Settings(database_url=url, secret_key="test-secret-key", workers=False)
    clock = ManualClock("2026-11-28T13:00:00+00:00")
    with TestClient(create_app(settings, clock=clock)) as client:
        with client.app.state.ctx.db.transaction() as conn:
            seed(conn, clock.now())
        yield client


def reset_world(client: TestClient, clock: ManualClock) -> World:
    """The module's app emptied of readings, rules, alerts and channels, on this test's clock
    and notification settings (read again from the environment the test set)."""
    ctx = client.app.state.ctx
    with ctx.db.transaction() as conn:
        for statement in RESET:
            conn.execute(statement)
    ctx.clock = clock
    ctx.notify_settings = NotifySettings.from_env()
    return World(client, clock)


def flows(
    start: datetime, values: list[float], *, point: str = "P1", first_seq: int = 1, step_s: int = 60
) -> list[dict[str, Any]]:
    """Flow readings every ``step_s`` seconds from ``start``."""
    return [
        {
            "seq": first_seq + i,
            "device": "dev-1",
            "point": point,
            "variable": "flow",
            "ts": iso(start + timedelta(seconds=step_s * i)),
            "value": value,
            "unit": "L/s",
            "quality": "good",
        }
        for i, value in enumerate(values)
    ]


EMAIL = {"kind": "email", "name": "correo", "address": "ana@agua.example", "subscription": {"min_severity": "warning"}}


class CountingConnection:
    """A real connection that counts the statements sent through it (and names the methods
    that sent them, in order), and the most parameters one of them had."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.dialect = conn.dialect
        self.statements = 0
        self.most_parameters = 0
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._conn, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.statements += 1
            self.calls.append(name)
            if name != "copy_rows" and len(args) > 1 and isinstance(args[1], dict):
                self.most_parameters = max(self.most_parameters, len(args[1]))
            return method(*args, **kwargs)

        return counted
