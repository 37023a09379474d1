"""A channel hears only about points its owner may see: refused when subscribed, skipped when sent.

``ana`` sees P1, ``bob`` P3, ``admin`` everything (tests/central/alerts/db_support.py); SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.central.alerts.db_support import EMAIL, World, flows
from tests.central.notify.support import SmtpServer

CHANNELS = "/api/v1/users/me/channels"


def subscribed(points: list[str] | None) -> dict[str, Any]:
    return {**EMAIL, "subscription": {"points": points, "min_severity": "warning"}}


@pytest.mark.parametrize(
    ("user", "points", "status", "message"),
    [
        ("ana", ["P1"], 201, None),
        ("ana", None, 201, None),
        ("ana", ["P3"], 422, "subscription.points: no hay un punto con código 'P3'"),
        ("ana", ["NO-EXISTE"], 422, "subscription.points: no hay un punto con código 'NO-EXISTE'"),
        ("ana", ["P1", "P2", "P3"], 422, "subscription.points: no hay un punto con código 'P2', 'P3'"),
        ("admin", ["P3"], 201, None),
    ],
    ids=["own-point", "all-own-points", "hidden-point", "missing-point", "some-hidden", "admin"],
)
def test_a_subscription_names_only_points_the_owner_may_see(
    world: World, user: str, points: list[str] | None, status: int, message: str | None
) -> None:
    response = world.call("POST", CHANNELS, user=user, json=subscribed(points))
    assert response.status_code == status
    if message is not None:
        assert (response.json()["error"]["message"], response.json()["error"]["details"][0]["loc"]) == (
            message,
            ["body", "subscription", "points"],
        )
        assert world.rows("SELECT id FROM notify_channels") == []


def test_a_change_to_a_hidden_point_is_refused_and_keeps_the_channel(world: World) -> None:
    created = world.add_channel("ana", subscribed(["P1"]))
    response = world.call("PATCH", f"{CHANNELS}/{created['id']}", user="ana", json={"subscription": {"points": ["P3"]}})
    kept = world.call("GET", f"{CHANNELS}/{created['id']}", user="ana").json()
    assert (response.status_code, kept["subscription"]["points"]) == (422, ["P1"])


def test_a_queued_alert_about_a_point_no_longer_visible_is_not_delivered(world: World, smtp: SmtpServer) -> None:
    world.add_channel("ana", subscribed(["P1"]))
    world.ingest(flows(world.clock.now() - timedelta(minutes=15), [15.0] * 16))  # P1 over its right: queued
    with world.db.transaction() as conn:
        conn.execute("DELETE FROM user_points WHERE point_id = (SELECT id FROM points WHERE code = 'P1')")
    assert world.deliver() == 0
    [mine] = world.call("GET", "/api/v1/users/me/notifications", user="ana").json()["items"]
    assert (smtp.received, mine["delivered_at"], mine["last_error"]) == (
        [],
        None,
        "canal 'correo': ana ya no puede ver P1",
    )
    assert mine["gave_up_at"] is not None
