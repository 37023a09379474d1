"""Through the real ingest API: threshold alerts, one e-mail per transition, no flapping, acks, metrics."""

from __future__ import annotations

from datetime import timedelta

import pytest

from central.telemetry.alerts.service import evaluate_timer
from central.telemetry.processing import Processed
from protocols.uplink import Quality
from tests.central.alerts.db_support import EMAIL, World, flows
from tests.central.notify.support import SmtpServer


def alerts(world: World) -> list[tuple[str, str, str, str]]:
    return [
        (row["kind"], row["subject"], row["severity"], row["status"])
        for row in world.rows("SELECT kind, subject, severity, status FROM alerts ORDER BY opened_at, id")
    ]


def test_a_thousand_readings_over_the_right_raise_one_alert_and_send_one_email(world: World, smtp: SmtpServer) -> None:
    world.add_channel("ana", EMAIL)
    start = world.clock.now() - timedelta(minutes=1000)
    values = [15.0 + (i % 5) / 10 for i in range(1000)]  # varying: a constant value would be another alert
    for first in range(0, 1000, 250):
        world.ingest(flows(start + timedelta(minutes=first), values[first : first + 250], first_seq=first + 1))
    assert world.deliver() == 1
    assert alerts(world) == [("flow_above_right", "P1", "critical", "open")]
    [mail] = smtp.received
    assert (mail.recipients, mail.message["Subject"]) == (["ana@agua.example"], "[Caudal] Alerta crítica: P1")
    assert mail.message.get_content().splitlines()[0] == (
        "Caudal 15.0 L/s sobre el derecho 12.0 L/s × 1.0 durante 10 min"
    )
    assert world.deliver() == 0


def test_a_flow_hovering_at_the_right_opens_one_alert_and_clears_it_once(world: World, smtp: SmtpServer) -> None:
    world.add_channel("ana", EMAIL)
    values = [12.3] * 11 + [11.9, 12.2, 11.8, 12.1] * 100 + [11.0] * 6
    start = world.clock.now() - timedelta(minutes=len(values))
    for first in range(0, len(values), 50):
        world.ingest(flows(start + timedelta(minutes=first), values[first : first + 50], first_seq=first + 1))
    world.deliver()
    assert alerts(world) == [("flow_above_right", "P1", "critical", "cleared")]
    assert [mail.message["Subject"] for mail in smtp.received] == [
        "[Caudal] Alerta crítica: P1",
        "[Caudal] Normalizado crítica: P1",
    ]


def test_an_open_alert_follows_the_newest_value_beyond_the_right_without_a_second_message(
    world: World, smtp: SmtpServer
) -> None:
    world.add_channel("ana", EMAIL)
    start = world.clock.now() - timedelta(minutes=60)
    world.ingest(flows(start, [20.0] * 30))
    world.ingest(flows(start + timedelta(minutes=30), [22.0] * 19 + [25.0, 5.0], first_seq=31))
    world.deliver()
    [alert] = world.call("GET", "/api/v1/alerts").json()["items"]
    assert (
        {k: alert[k] for k in ("status", "opened_at", "first_value", "last_value", "last_seen_at", "message")},
        len(smtp.received),
    ) == (
        {
            "status": "open",
            "opened_at": "2026-11-28T12:10:00Z",
            "first_value": 20.0,
            "last_value": 25.0,
            "last_seen_at": "2026-11-28T12:49:00Z",
            "message": "Caudal 25.0 L/s sobre el derecho 12.0 L/s × 1.0 durante 10 min",
        },
        1,
    )


def test_readings_sent_twice_do_not_raise_twice(world: World, smtp: SmtpServer) -> None:
    world.add_channel("ana", EMAIL)
    readings = flows(world.clock.now() - timedelta(minutes=30), [20.0] * 30)
    world.ingest(readings)
    world.ingest(readings)
    world.deliver()
    assert (alerts(world), len(smtp.received)) == ([("flow_above_right", "P1", "critical", "open")], 1)


def test_a_point_without_a_subscribed_channel_raises_but_queues_nothing(world: World) -> None:
    world.add_channel("admin", {**EMAIL, "subscription": {"points": ["P2"], "min_severity": "info"}})
    world.ingest(flows(world.clock.now() - timedelta(minutes=30), [20.0] * 30))
    assert alerts(world) == [("flow_above_right", "P1", "critical", "open")]
    assert world.rows("SELECT id FROM notifications") == []


def test_an_alert_is_only_sent_to_people_who_see_the_point(world: World) -> None:
    for user in ("ana", "bob", "admin"):
        world.add_channel(user, {**EMAIL, "address": f"{user}@agua.example"})
    world.ingest(flows(world.clock.now() - timedelta(minutes=30), [20.0] * 30))
    rows = world.rows("SELECT u.username FROM notifications n JOIN users u ON u.id = n.user_id ORDER BY u.username")
    assert [row["username"] for row in rows] == ["admin", "ana"]


def test_acknowledging_records_who_when_and_why_and_a_second_ack_is_a_conflict(world: World) -> None:
    world.ingest(flows(world.clock.now() - timedelta(minutes=30), [20.0] * 30))
    [alert] = world.call("GET", "/api/v1/alerts", user="ana").json()["items"]
    world.clock.advance(120)
    first = world.call("POST", f"/api/v1/alerts/{alert['id']}/ack", user="ana", json={"comment": "bomba revisada"})
    second = world.call("POST", f"/api/v1/alerts/{alert['id']}/ack", user="admin", json={})
    assert first.status_code == 200
    assert {k: first.json()[k] for k in ("status", "acknowledged_by", "acknowledged_at", "ack_comment")} == {
        "status": "acknowledged",
        "acknowledged_by": "ana",
        "acknowledged_at": "2026-11-28T13:02:00Z",
        "ack_comment": "bomba revisada",
    }
    assert second.status_code == 409
    assert "ana ya reconoció la alerta" in second.json()["error"]["message"]


def test_an_acknowledged_alert_still_clears_when_the_flow_comes_back(world: World) -> None:
    start = world.clock.now() - timedelta(minutes=60)
    world.ingest(flows(start, [20.0] * 30))
    [alert] = world.call("GET", "/api/v1/alerts").json()["items"]
    world.call("POST", f"/api/v1/alerts/{alert['id']}/ack", json={"comment": None})
    world.ingest(flows(start + timedelta(minutes=30), [5.0] * 30, first_seq=31))
    after = world.call("GET", f"/api/v1/alerts/{alert['id']}").json()
    assert (after["status"], after["acknowledged_by"], after["clear_message"]) == (
        "cleared",
        "admin",
        "Caudal 5.0 L/s de nuevo dentro del derecho 12.0 L/s × 1.0",
    )
    cleared = world.call("POST", f"/api/v1/alerts/{alert['id']}/ack", json={})
    assert cleared.status_code == 409


def test_the_metrics_count_alerts_by_state_and_severity(world: World) -> None:
    world.ingest(flows(world.clock.now() - timedelta(minutes=30), [20.0] * 30))
    text = world.client.get("/metrics").text
    lines = sorted(line for line in text.splitlines() if line.startswith("caudal_alerts{"))
    assert 'caudal_alerts{severity="critical",state="open"} 1.0' in lines
    assert 'caudal_alerts{severity="warning",state="open"} 0.0' in lines
    assert len(lines) == 9


def test_the_metrics_say_nothing_waits_for_evaluation_once_a_batch_is_evaluated(world: World) -> None:
    world.ingest(flows(world.clock.now() - timedelta(minutes=30), [20.0] * 30))
    lines = world.client.get("/metrics").text.splitlines()
    assert sorted(
        line for line in lines if line.startswith(("caudal_alert_queue_readings ", "caudal_alert_pending_marks "))
    ) == [
        "caudal_alert_pending_marks 0.0",
        "caudal_alert_queue_readings 0.0",
    ]


def test_batches_queued_faster_than_they_are_evaluated_are_evaluated_in_order(world: World) -> None:
    p1 = world.rows("SELECT id FROM points WHERE code = 'P1'")[0]["id"]
    start = world.clock.now() - timedelta(hours=2)
    values = [20.0] * 30 + [5.0] * 30 + [20.0] * 30 + [5.0] * 30
    queue = world.ctx.alert_queue
    for first in range(0, len(values), 3):  # 40 small batches, one after the other, without waiting
        queue.submit(
            [
                Processed(p1, start + timedelta(minutes=i), "flow", values[i], None, "L/s", Quality.GOOD, None, i)
                for i in range(first, first + 3)
            ],
            world.clock.now(),
        )
    assert queue.wait_idle(10)
    rows = world.rows("SELECT opened_at, cleared_at FROM alerts WHERE kind = 'flow_above_right' ORDER BY opened_at")
    assert [
        ((row["opened_at"] - start) / timedelta(minutes=1), (row["cleared_at"] - start) / timedelta(minutes=1))
        for row in rows
    ] == [(10, 35), (70, 95)]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "cleared"}, {"flow_above_right"}),
        ({"status": ["open", "acknowledged"]}, {"point_silent", "gateway_silent"}),
        ({"severity": "critical"}, {"flow_above_right"}),
        ({"point": "P1"}, {"flow_above_right", "point_silent"}),
        ({"from": "2026-11-28T13:30:00Z"}, {"point_silent", "gateway_silent"}),
        ({"from": "2026-11-28T12:30:00Z"}, {"flow_above_right", "point_silent", "gateway_silent"}),
        ({"from": "2026-11-28T12:00:00Z", "to": "2026-11-28T12:30:00Z"}, {"flow_above_right"}),
    ],
)
def test_alerts_can_be_filtered_by_status_severity_point_and_time(world: World, params: dict, expected: set) -> None:
    start = world.clock.now() - timedelta(minutes=60)
    world.ingest(flows(start, [20.0] * 30 + [5.0] * 30))  # raised at 12:10, cleared at 12:35
    world.clock.advance(45 * 60)
    evaluate_timer(world.db, world.clock.now())
    response = world.call("GET", "/api/v1/alerts", params=params)
    assert {item["kind"] for item in response.json()["items"]} == expected
    assert response.json()["total"] == len(expected)
