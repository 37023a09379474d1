"""``/api/v1/points/{code}/alert-rules`` and ``/api/v1/gateways/{name}/alert-rules``."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.central.alerts.db_support import World, flows

RULES = "/api/v1/points/P1/alert-rules"


def kinds(items: list[dict]) -> list[str]:
    return [item["kind"] for item in items]


def test_a_point_gets_its_default_rules_on_first_look(world: World) -> None:
    response = world.call("GET", RULES, user="ana")
    assert response.status_code == 200
    assert kinds(response.json()["items"]) == [
        "flow_above_right",
        "point_silent",
        "frozen_totalizer",
        "constant_value",
        "totalizer_decrease",
        "submission_failed",
        "submission_unrecoverable",
        "submission_late",
        "compliance_event",
    ]
    assert response.json()["items"][0] == {
        "id": response.json()["items"][0]["id"],
        "kind": "flow_above_right",
        "severity": "critical",
        "enabled": True,
        "water_right_lps": 12.0,
        "tolerance": 1.0,
        "hysteresis_lps": 0.6,
        "for_minutes": 10.0,
        "clear_minutes": 5.0,
    }


def test_a_gateway_gets_its_default_rules(world: World) -> None:
    response = world.call("GET", "/api/v1/gateways/gw-norte/alert-rules")
    assert kinds(response.json()["items"]) == ["gateway_silent", "clock_offset", "buffer_dropping"]


def test_rules_are_a_page(world: World) -> None:
    response = world.call("GET", RULES, params={"limit": 2, "offset": 1})
    assert ({k: v for k, v in response.json().items() if k != "items"}, kinds(response.json()["items"])) == (
        {"total": 9, "limit": 2, "offset": 1, "next_cursor": None},
        ["point_silent", "frozen_totalizer"],
    )


@pytest.mark.parametrize(
    ("method", "path", "user", "status"),
    [
        ("GET", "/api/v1/points/P3/alert-rules", "ana", 404),
        ("GET", "/api/v1/points/NOPE/alert-rules", "admin", 404),
        ("PUT", RULES, "ana", 403),
        ("PATCH", f"{RULES}/1", "ana", 403),
        ("GET", "/api/v1/gateways/gw-norte/alert-rules", "ana", 403),
    ],
)
def test_only_visible_points_and_only_admins_change_rules(
    world: World, method: str, path: str, user: str, status: int
) -> None:
    body = [] if method == "PUT" else {} if method == "PATCH" else None
    assert world.call(method, path, user=user, json=body).status_code == status


@pytest.mark.parametrize(
    ("rule", "loc"),
    [
        ({"kind": "flow_above_right", "water_right_lps": -1}, ["body", 0, "flow_above_right", "water_right_lps"]),
        ({"kind": "level_threshold"}, ["body", 0, "level_threshold", "value"]),
        ({"kind": "point_silent", "minutes": 10, "colour": "red"}, ["body", 0, "point_silent", "colour"]),
        ({"kind": "made_up"}, ["body", 0]),
    ],
)
def test_a_bad_rule_is_a_422_naming_the_field_and_changes_nothing(world: World, rule: dict, loc: list) -> None:
    before = world.call("GET", RULES).json()
    response = world.call("PUT", RULES, json=[rule])
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["loc"] == loc
    assert world.call("GET", RULES).json() == before


def test_replacing_keeps_listed_rules_adds_new_ones_and_drops_the_rest(world: World) -> None:
    [flow, silent, *_] = world.call("GET", RULES).json()["items"]
    body = [flow, {**silent, "minutes": 90}, {"kind": "level_threshold", "value": 3.5, "direction": "below"}]
    response = world.call("PUT", RULES, json=body)
    assert response.status_code == 200
    assert [
        (item["id"] == old.get("id"), item["kind"]) for item, old in zip(response.json()["items"], body, strict=False)
    ] == [(True, "flow_above_right"), (True, "point_silent"), (False, "level_threshold")]
    assert response.json()["items"][1]["minutes"] == 90
    assert world.call("GET", RULES).json() == response.json()


def test_an_id_of_another_point_is_refused(world: World) -> None:
    other = world.call("GET", "/api/v1/points/P2/alert-rules").json()["items"][0]
    response = world.call("PUT", RULES, json=[other])
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["loc"] == ["body", 0, "id"]


def test_patching_one_rule_validates_the_whole_rule(world: World) -> None:
    flow = world.call("GET", RULES).json()["items"][0]
    good = world.call("PATCH", f"{RULES}/{flow['id']}", json={"for_minutes": 2, "severity": "warning"})
    bad = world.call("PATCH", f"{RULES}/{flow['id']}", json={"hysteresis_lps": 50})
    kind = world.call("PATCH", f"{RULES}/{flow['id']}", json={"kind": "point_silent"})
    assert (good.status_code, good.json()["for_minutes"], good.json()["severity"]) == (200, 2, "warning")
    assert (bad.status_code, kind.status_code) == (422, 422)
    assert "hysteresis_lps 50.0 debe ser menor que el límite 12.0" in bad.json()["error"]["message"]
    assert kind.json()["error"]["details"][0]["loc"] == ["body", "kind"]


def test_the_flow_rule_follows_the_points_water_right(world: World) -> None:
    world.call("GET", RULES)
    with world.db.transaction() as conn:
        conn.execute("UPDATE points SET water_right_lps = 25 WHERE code = 'P1'")
    world.ingest(flows(world.clock.now() - timedelta(minutes=30), [20.0] * 30))
    assert world.call("GET", RULES).json()["items"][0]["water_right_lps"] == 25.0
    assert world.rows("SELECT kind FROM alerts WHERE kind = 'flow_above_right'") == []


def test_changing_a_rule_retires_its_live_alert_without_a_message(world: World) -> None:
    world.ingest(flows(world.clock.now() - timedelta(minutes=30), [20.0] * 30))
    flow = world.call("GET", RULES).json()["items"][0]
    world.call("PATCH", f"{RULES}/{flow['id']}", json={"tolerance": 2.0})
    [alert] = world.call("GET", "/api/v1/alerts").json()["items"]
    assert (alert["status"], alert["clear_message"]) == (
        "cleared",
        "Regla modificada: la alerta se cierra y la regla vuelve a evaluarse desde cero",
    )


def test_a_point_whose_rules_were_all_removed_gets_no_defaults_back(world: World) -> None:
    world.call("PUT", RULES, json=[])
    world.ingest(flows(world.clock.now() - timedelta(minutes=30), [20.0] * 30))
    assert (world.call("GET", RULES).json()["items"], world.rows("SELECT id FROM alerts")) == ([], [])


def test_gateway_rules_take_only_gateway_kinds(world: World) -> None:
    response = world.call("PUT", "/api/v1/gateways/gw-norte/alert-rules", json=[{"kind": "point_silent"}])
    assert (response.status_code, response.json()["error"]["details"][0]["loc"]) == (422, ["body", 0, "kind"])
