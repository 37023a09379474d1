"""Alert evaluation in the alerts role (CAUDAL_ALERT_EVALUATION=role), on SQLite and PostgreSQL.

The telemetry process only marks the points a batch wrote; :func:`evaluate_pending` (the
alerts role's pass) raises the alerts, once, from the stored readings.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from central.app import api_document, create_app
from central.settings import Settings
from central.telemetry.alerts import api as alerts_api
from central.telemetry.alerts import pending, role
from central.telemetry.alerts.pending import evaluate_pending
from protocols.clock import ManualClock
from protocols.uplink import INGEST_PATH
from tests.central.alerts.db_support import GATEWAYS, flows, iso, seed
from tests.pg import temporary_database


@pytest.fixture(params=["sqlite", "postgresql"])
def client(request: pytest.FixtureRequest, tmp_path, clock: ManualClock) -> Iterator[TestClient]:
    def app(url: str) -> Iterator[TestClient]:
        settings = Settings(database_url=url, secret_key="k", workers=False, alert_evaluation="role")
        with TestClient(create_app(settings, clock=clock)) as test_client:
            with test_client.app.state.ctx.db.transaction() as conn:
                seed(conn, clock.now())
            yield test_client

    if request.param == "sqlite":
        yield from app(f"sqlite:///{tmp_path / 'caudal.db'}")
        return
    with temporary_database(
        request.getfixturevalue("postgres_admin_url"),
        "caudal_alerts_role",
        request.getfixturevalue("migrated_template"),
    ) as url:
        yield from app(url)


def ingest(client: TestClient, readings: list[dict]) -> None:
    document = {
        "schema": 1,
        "gateway": "gw-norte",
        "sent_at": iso(client.app.state.ctx.clock.now()),
        "readings": readings,
    }
    headers = {"Authorization": f"Bearer {GATEWAYS['gw-norte'][0]}", "Content-Type": "application/json"}
    assert client.post(INGEST_PATH, content=json.dumps(document), headers=headers).status_code == 200


def rows(client: TestClient, sql: str) -> list[tuple]:
    with client.app.state.ctx.db.connect() as conn:
        return [tuple(row.values()) for row in conn.fetchall(sql)]


def over_the_right(client: TestClient, minutes: int = 30, first_seq: int = 1) -> list[dict]:
    start = client.app.state.ctx.clock.now() - timedelta(minutes=minutes)
    return flows(start, [20.0 + (i % 3) / 10 for i in range(minutes)], first_seq=first_seq)


def pending_gauge(client: TestClient) -> list[str]:
    return [line for line in client.get("/metrics").text.splitlines() if line.startswith("caudal_alert_pending_marks ")]


def test_the_metrics_count_the_points_waiting_for_the_alerts_role(client: TestClient):
    ingest(client, over_the_right(client))
    waiting = pending_gauge(client)
    ctx = client.app.state.ctx
    evaluate_pending(ctx.db, ctx.clock.now())
    assert (waiting, pending_gauge(client)) == (["caudal_alert_pending_marks 1.0"], ["caudal_alert_pending_marks 0.0"])


def test_ingest_only_marks_the_points_and_the_alerts_role_raises_the_alert(client: TestClient):
    ingest(client, over_the_right(client))
    assert (
        rows(client, "SELECT kind FROM alerts"),
        rows(client, "SELECT p.code FROM alert_pending a JOIN points p ON p.id = a.point_id"),
    ) == ([], [("P1",)])
    ctx = client.app.state.ctx
    assert evaluate_pending(ctx.db, ctx.clock.now()) > 0
    assert (rows(client, "SELECT kind, subject, status FROM alerts"), rows(client, "SELECT id FROM alert_pending")) == (
        [("flow_above_right", "P1", "open")],
        [],
    )


def test_a_resent_batch_marks_nothing_and_an_overlapping_one_raises_nothing_twice(client: TestClient):
    readings = over_the_right(client, minutes=40)
    ctx = client.app.state.ctx
    ingest(client, readings[:30])
    evaluate_pending(ctx.db, ctx.clock.now())
    ingest(client, readings[:30])
    assert rows(client, "SELECT id FROM alert_pending") == []
    ingest(client, readings[20:])  # its mark starts at the hour, before readings already evaluated
    evaluate_pending(ctx.db, ctx.clock.now())
    assert (
        rows(client, "SELECT kind, status, first_value FROM alerts"),
        rows(client, "SELECT id FROM notifications"),
    ) == ([("flow_above_right", "open", 20.1)], [])


def test_a_backlog_is_evaluated_in_slices_oldest_first_until_no_mark_is_left(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(pending, "MAX_READINGS_PER_POINT", 10)
    ingest(client, over_the_right(client, minutes=35))
    ctx = client.app.state.ctx
    passes = 0
    while rows(client, "SELECT id FROM alert_pending"):
        evaluate_pending(ctx.db, ctx.clock.now())
        passes += 1
    assert (passes, rows(client, "SELECT kind, status FROM alerts")) == (4, [("flow_above_right", "open")])


def test_a_failed_evaluation_puts_its_marks_back(client: TestClient, monkeypatch: pytest.MonkeyPatch):
    ingest(client, over_the_right(client))
    ctx = client.app.state.ctx

    def broken(*args, **kwargs):
        raise RuntimeError("evaluation failed")

    monkeypatch.setattr(pending, "evaluate_ingest", broken)
    with pytest.raises(RuntimeError, match="evaluation failed"):
        evaluate_pending(ctx.db, ctx.clock.now())
    monkeypatch.undo()
    evaluate_pending(ctx.db, ctx.clock.now())
    assert (rows(client, "SELECT kind, status FROM alerts"), rows(client, "SELECT id FROM alert_pending")) == (
        [("flow_above_right", "open")],
        [],
    )


def test_the_telemetry_process_leaves_timer_and_outbox_to_the_alerts_role(client: TestClient):
    ctx = client.app.state.ctx
    assert ([w.__name__ for w in alerts_api.workers(ctx)], [w.__name__ for w in role.workers(ctx)]) == (
        [],
        ["alert_evaluation", "alert_timer", "notification_outbox"],
    )


def test_the_alerts_role_serves_only_the_health_checks():
    assert sorted(api_document("alerts")["paths"]) == ["/healthz", "/metrics", "/readyz"]
