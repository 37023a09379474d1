"""Plausibility limits per work: set and read through the configuration API, refused with a
clear 422 when contradictory, and applied by the worker (a value outside them is held, the
others are sent as measured). Both databases, the real DGA stand-in."""

from __future__ import annotations

import pytest

from tests.compliance import worker_support as support

URL = f"/api/v1/points/{support.CODE}/compliance/dga"
SLOT = support.utc("2026-11-28T12:00:00")
BASE = {
    "mode": "shadow",
    "work_type": "subterranea",
    "codigo_obra": support.CODE,
    "standard": "mayor",
    "informant_rut": "12345678-5",
    "informant_password": "clave",
    "valid_from": "2026-11-01T04:00:00Z",
}


def test_the_limits_and_the_meter_profile_are_stored_and_shown(app_client, point_id):
    change = {"meter_profile": "abb-aquamaster3", "limits": {"caudal_max_lps": 80, "nivel_freatico_max_m": 60}}
    answer = app_client.put(URL, json=BASE | change, headers=support.ADMIN)
    shown = app_client.get(URL, headers=support.ADMIN).json()["config"]
    assert answer.status_code == 200, answer.text
    assert (shown["meter_profile"], shown["limits"]) == (
        "abb-aquamaster3",
        {
            "caudal_max_lps": "80",
            "totalizador_max_m3": None,
            "nivel_freatico_min_m": None,
            "nivel_freatico_max_m": "60",
            "altura_limnimetrica_min_cm": None,
            "altura_limnimetrica_max_cm": None,
        },
    )


UNKNOWN_PROFILE = (
    "el perfil de medidor 'acme-9000' no existe; los disponibles son: abb-aquamaster3, generic-4-20ma, keller-series30,"
    " krohne-ifc300, siemens-mag6000, xylem-magflux"
)


@pytest.mark.parametrize(
    ("change", "loc", "kind", "reason"),
    [
        ({"limits": {"caudal_max_lps": -1}}, ["body", "limits", "caudal_max_lps"], "greater_than", None),
        (
            {"limits": {"nivel_freatico_min_m": 50, "nivel_freatico_max_m": 10}},
            ["body", "limits"],
            "value_error",
            "nivel_freatico_min_m 50 debe ser menor que nivel_freatico_max_m 10",
        ),
        ({"limits": {"caudal_max": 5}}, ["body", "limits", "caudal_max"], "extra_forbidden", None),
        ({"meter_profile": "acme-9000"}, ["body", "meter_profile"], "value_error", UNKNOWN_PROFILE),
    ],
)
def test_bad_limits_are_refused_naming_the_field_and_change_nothing(app_client, point_id, change, loc, kind, reason):
    """The field and the kind of problem; for the checks of this module, their own words too."""
    answer = app_client.put(URL, json=BASE | change, headers=support.ADMIN)
    (detail,) = answer.json()["error"]["details"]
    words = detail["msg"].removeprefix("Value error, ") if reason else None
    assert (answer.status_code, detail["loc"], detail["type"], words) == (422, loc, kind, reason)
    assert app_client.get(URL, headers=support.ADMIN).status_code == 404


@pytest.mark.parametrize(("flow", "state"), [(80, "accepted"), (80.5, "review")])
async def test_the_worker_holds_only_a_value_outside_the_limits(db, database_url, clock, dga, point_id, flow, state):
    """Water right 20 L/s; the meter measures up to 80 L/s."""
    support.add_readings(db, point_id, SLOT, flow=flow, totalizer=1000, water_table=30)
    support.configure_dga(
        db, point_id, dga.url, clock.now(), valid_to="2026-11-28T12:30:00Z", limits={"caudal_max_lps": 80}
    )
    await support.one_pass(db, clock, database_url)
    assert [s for _, s, _ in support.ledger(db)] == [state]
    assert len(support.posts(dga)) == (1 if state == "accepted" else 0)
