"""The 30-second timer over the database: silence, gateway heartbeats, regulator submissions."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from central.app import create_app
from central.telemetry.alerts.api import alert_timer
from central.telemetry.alerts.service import evaluate_timer
from compliance.facts import sync_ledger
from compliance.registry import labels
from tests.central.alerts.db_support import (
    EMAIL,
    World,
    flows,
    iso,
)
from tests.central.notify.support import SmtpServer


def tick(world: World, minutes: float = 0) -> None:
    """Move the clock and make one timer pass, as the worker does every 30 s."""
    world.clock.advance(minutes * 60)
    evaluate_timer(world.db, world.clock.now(), regulators=labels())


def live(world: World, kind: str = "%") -> list[tuple[str, str, str]]:
    rows = world.rows(
        "SELECT kind, subject, status FROM alerts WHERE kind LIKE :k ORDER BY opened_at, kind", {"k": kind}
    )
    return [(row["kind"], row["subject"], row["status"]) for row in rows]


def test_a_point_falls_silent_after_thirty_minutes_and_clears_when_data_returns(world: World, smtp: SmtpServer) -> None:
    world.add_channel("ana", EMAIL)
    world.ingest(flows(world.clock.now(), [5.0]))
    tick(world, 29)
    assert live(world, "point%") == []
    tick(world, 1)
    assert live(world, "point%") == [("point_silent", "P1", "open")]
    tick(world, 10)
    world.ingest(flows(world.clock.now(), [5.0], first_seq=2), sent_at=world.clock.now())
    tick(world, 0.5)
    world.deliver()
    assert [row["status"] for row in world.rows("SELECT status FROM alerts WHERE kind = 'point_silent'")] == ["cleared"]
    assert [mail.message["Subject"] for mail in smtp.received if "gw-norte" not in mail.message["Subject"]] == [
        "[Caudal] Alerta advertencia: P1",
        "[Caudal] Normalizado advertencia: P1",
    ]


def test_a_silent_point_stays_one_alert_over_many_ticks(world: World) -> None:
    world.ingest(flows(world.clock.now(), [5.0]))
    for _ in range(10):
        tick(world, 30)
    assert live(world, "point%") == [("point_silent", "P1", "open")]
    [alert] = world.call("GET", "/api/v1/alerts", params={"point": "P1"}).json()["items"]
    assert alert["message"] == "Sin datos hace 5 h (último dato 2026-11-28 13:00 UTC)"


def test_a_gateway_without_uploads_raises_for_admins_and_people_who_see_its_points(world: World) -> None:
    world.ingest([], gateway="gw-norte")
    tick(world, 15)
    assert live(world) == [("gateway_silent", "gw-norte", "open")]
    seen_by = {user: world.call("GET", "/api/v1/alerts", user=user).json()["total"] for user in ("admin", "ana", "bob")}
    assert seen_by == {"admin": 1, "ana": 1, "bob": 0}


def test_a_gateway_alert_reaches_a_subscription_to_one_of_its_points(world: World) -> None:
    world.add_channel("ana", {**EMAIL, "subscription": {"points": ["P1"], "min_severity": "warning"}})
    world.ingest([], gateway="gw-norte")
    tick(world, 15)
    rows = world.rows("SELECT subject FROM notifications")
    assert rows == [{"subject": "[Caudal] Alerta advertencia: gw-norte"}]


@pytest.mark.parametrize(
    ("gateway_late_s", "expected"),
    [
        (300, [("clock_offset", "gw-norte", "open")]),
        (-300, [("clock_offset", "gw-norte", "open")]),
        (60, []),
    ],
)
def test_a_gateway_clock_off_by_more_than_two_minutes_raises(world: World, gateway_late_s: int, expected: list) -> None:
    world.ingest([], sent_at=world.clock.now() - timedelta(seconds=gateway_late_s))
    tick(world)
    assert live(world) == expected


def test_a_buffer_that_drops_readings_raises_once(world: World) -> None:
    agent = {"version": "1.0", "buffer_depth": 10, "oldest_unsent_s": 5.0, "dropped_total": 0, "clock_synced": True}
    world.ingest([], agent=agent)
    tick(world, 0.5)
    for dropped in (40, 90):
        world.ingest([], agent={**agent, "dropped_total": dropped}, sent_at=world.clock.now())
        tick(world, 0.5)
    [alert] = world.call("GET", "/api/v1/alerts").json()["items"]
    assert (alert["kind"], alert["status"], alert["message"]) == (
        "buffer_dropping",
        "open",
        "El buffer del gateway descartó 40 lecturas (total descartado 40)",
    )


def add_submission(world: World, state: str, slot_hours_ago: float) -> None:
    """A ledger row in ``state``, with the facts compliance publishes for it (what the timer reads)."""
    now = world.clock.now()
    with world.db.transaction() as conn:
        submission_id = conn.fetchval(
            "INSERT INTO compliance_submissions (point_id, regulator, slot, mode, state, created_at, updated_at)"
            " SELECT id, 'dga', :slot, 'live', :state, :now, :now FROM points WHERE code = 'P1' RETURNING id",
            {"slot": now - timedelta(hours=slot_hours_ago), "state": state, "now": now},
        )
        sync_ledger(conn, submission_id, now)


@pytest.mark.parametrize(
    ("state", "hours_ago", "expected"),
    [
        ("unrecoverable", 1, {("submission_unrecoverable", "critical")}),
        ("pending", 30, {("submission_late", "info")}),
        ("pending", 50, {("submission_late", "warning")}),
        ("review", 80, {("submission_late", "critical")}),
        ("accepted", 80, set()),
        ("pending", 2, set()),
    ],
)
def test_the_regulator_ledger_raises_submission_alerts(
    world: World, state: str, hours_ago: float, expected: set
) -> None:
    add_submission(world, state, hours_ago)
    tick(world)
    rows = world.rows("SELECT kind, severity FROM alerts WHERE kind LIKE 'submission%'")
    assert {(row["kind"], row["severity"]) for row in rows} == expected


def test_a_late_submission_escalates_with_one_notification_per_step(world: World) -> None:
    world.add_channel("admin", {**EMAIL, "address": "admin@agua.example", "subscription": {"min_severity": "info"}})
    add_submission(world, "pending", 25)
    for minutes in (0, 24 * 60, 24 * 60):
        tick(world, minutes)
    rows = world.rows("SELECT subject FROM notifications ORDER BY seq")
    assert [row["subject"] for row in rows] == [
        "[Caudal] Alerta aviso: P1",
        "[Caudal] Alerta escalada advertencia: P1",
        "[Caudal] Alerta escalada crítica: P1",
    ]


async def test_the_timer_worker_passes_every_thirty_seconds_until_stopped(world: World) -> None:
    world.ingest(flows(world.clock.now(), [5.0]))
    stop = asyncio.Event()
    task = asyncio.create_task(alert_timer(world.ctx)(stop))
    await until(lambda: world.clock.sleepers == 1)
    world.clock.advance(31 * 60)
    await until(lambda: live(world, "point%") == [("point_silent", "P1", "open")] and world.clock.sleepers == 1)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert iso(world.clock.now()) == "2026-11-28T13:31:00Z"


async def until(condition, timeout_s: float = 5) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.01)


def test_the_telemetry_service_runs_its_alert_workers_and_stops_them(world: World) -> None:
    settings = world.ctx.settings.model_copy(update={"workers": True})
    with TestClient(create_app(settings, role="telemetry", clock=world.clock)) as client:
        ctx = client.app.state.ctx
        deadline = time.monotonic() + 10
        while not world.rows("SELECT subject_id FROM alert_rule_sets") and time.monotonic() < deadline:
            time.sleep(0.01)  # the timer's first pass runs at start-up
        assert ctx.alert_queue.wait_idle(5)
    assert {row["scope"] for row in world.rows("SELECT scope FROM alert_rule_sets")} == {"point", "gateway"}
