"""The console's regulator forms come from the regulators the app factory injected: the DGA's own
form, and for every other registered regulator a generic one (mode, password, settings as JSON),
all posted to /ui/admin/reguladores/{name}."""

from __future__ import annotations

import json

from tests.ui import site
from tests.ui.conftest import Console, logged_in, page_csrf

SMA_SETTINGS = {"uf_id": "UF1", "proceso_id": "P7", "dispositivo_id": "12180", "usuario": "12345678-5",
                "timestamp_utc_offset_hours": -4, "base_url": "http://127.0.0.1:9",
                "parameters": [{"variable": "flow", "nombre": "Q", "unidad": "l/s"}]}


def post(console: Console, name: str, **fields: str):
    client = logged_in(console, "jefa")
    data = {"csrf": page_csrf(client.get("/ui/admin").text), "point": site.SUR, **fields}
    return client.post(f"/ui/admin/reguladores/{name}", data=data, follow_redirects=False)


def test_the_admin_page_has_a_form_for_each_registered_regulator(console: Console) -> None:
    page = logged_in(console, "jefa").get("/ui/admin").text
    assert [marker in page for marker in ('id="dga-form"', 'id="reg-sma-form"', 'name="password"')] == [True] * 3


def test_the_generic_form_stores_a_configuration_with_its_password_write_only(console: Console) -> None:
    answer = post(console, "sma", mode="shadow", settings=json.dumps(SMA_SETTINGS), password="sma-clave")
    stored = console.client.get(f"/api/v1/points/{site.SUR}/compliance/sma", headers=console.seeded.admin).json()
    assert (answer.status_code, answer.headers["location"]) == (303, "/ui/admin?hecho=regulador")
    assert (stored["config"]["mode"], stored["config"]["uf_id"], stored["password_set"]) == ("shadow", "UF1", True)


def test_settings_that_are_not_a_json_object_are_refused_in_spanish(console: Console) -> None:
    answer = post(console, "sma", mode="off", settings="[1, 2]", password="x")
    assert answer.status_code == 422
    assert "«Otros parámetros» debe ser un objeto JSON" in answer.text


def test_a_regulator_nobody_registered_is_not_found(console: Console) -> None:
    answer = post(console, "cuarto", mode="off")
    assert answer.status_code == 404
    assert "No hay un regulador" in answer.text


def test_the_dga_form_keeps_the_stored_password_when_left_empty(console: Console) -> None:
    """Mode off, so the stored work (which the seeded site sends) stops only for a moment of the test."""
    fields = {"mode": "off", "work_type": "subterranea", "codigo_obra": site.SUR, "standard": "mayor",
              "informant_rut": site.INFORMANT, "informant_password": "", "valid_from": "2026-11-01"}
    first = post(console, "dga", **{**fields, "informant_password": "clave-nueva"})
    again = post(console, "dga", **fields)
    stored = console.client.get(f"/api/v1/points/{site.SUR}/compliance/dga", headers=console.seeded.admin).json()
    assert (first.status_code, again.status_code) == (303, 303), again.text
    assert (stored["config"]["mode"], stored["config"]["valid_from"], stored["password_set"]) == (
        "off", "2026-11-01T03:00:00Z", True)
