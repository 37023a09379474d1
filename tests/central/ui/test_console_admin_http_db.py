"""Administración, Gateways and the report downloads over HTTP (no browser), on SQLite and
PostgreSQL: each console form does what the API's route does, shows the API's refusal, and
never shows a password or an old token."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from fastapi.testclient import TestClient

from protocols.uplink import INGEST_PATH
from tests.central.ui import site
from tests.central.ui.console import Console, logged_in, page_csrf
from tests.sites import plc_meter

METER = plc_meter("{point}")
WRONG_BUS = METER.replace("bus: plc", "bus: rs485")


def post(client: TestClient, path: str, data: dict[str, str], page: str = "/ui/admin") -> object:
    return client.post(path, data={"csrf": page_csrf(client.get(page).text), **data}, follow_redirects=False)


def api(console: Console, path: str) -> dict:
    answer = console.client.get(path, headers=console.seeded.admin)
    assert answer.status_code == 200, answer.text
    return answer.json()


def new_user(console: Console, username: str) -> None:
    answer = console.client.post(
        "/api/v1/users", json={"username": username, "password": site.PASSWORD}, headers=console.seeded.admin
    )
    assert answer.status_code == 201, answer.text


def new_gateway(console: Console, name: str) -> str:
    answer = console.client.post("/api/v1/gateways", json={"name": name}, headers=console.seeded.admin)
    assert answer.status_code == 201, answer.text
    return answer.json()["token"]


@pytest.mark.parametrize(
    ("failures", "fmt", "api_path"),
    [
        (False, "csv", f"/api/v1/compliance/reports/{site.NORTE}/2026-11?format=csv"),
        (False, "xlsx", f"/api/v1/compliance/reports/{site.NORTE}/2026-11?format=xlsx"),
        (True, "csv", f"/api/v1/compliance/reports/{site.NORTE}/2026-11/informe-de-fallas?format=csv"),
        (True, "xlsx", f"/api/v1/compliance/reports/{site.NORTE}/2026-11/informe-de-fallas?format=xlsx"),
    ],
)
def test_cumplimiento_links_each_report_and_failure_report_and_hands_over_the_apis_file(
    console: Console, failures: bool, fmt: str, api_path: str
) -> None:
    client = logged_in(console, "ana")
    kind = "failures" if failures else "report"
    links = re.findall(rf'<a class="{kind}" href="([^"]+)"', client.get("/ui/cumplimiento").text)
    tail = "/informe-de-fallas" if failures else ""
    assert links == [
        f"/ui/informes/{site.NORTE}/{month}{tail}?format={form}"
        for month in ("2026-11", "2026-10")
        for form in ("csv", "xlsx")
    ]
    mine = client.get(f"/ui/informes/{site.NORTE}/2026-11{tail}?format={fmt}")
    theirs = console.client.get(api_path, headers=console.seeded.admin)
    assert (mine.status_code, mine.headers["content-disposition"]) == (200, theirs.headers["content-disposition"])
    if fmt == "csv":
        assert mine.text == theirs.text
    else:
        assert (
            zipfile.ZipFile(io.BytesIO(mine.content)).namelist()
            == zipfile.ZipFile(io.BytesIO(theirs.content)).namelist()
        )


def test_a_report_in_an_unknown_format_is_a_422(console: Console) -> None:
    answer = logged_in(console, "ana").get(f"/ui/informes/{site.NORTE}/2026-11/informe-de-fallas?format=pdf")
    assert answer.status_code == 422


def test_ticking_a_users_points_changes_what_they_see(console: Console) -> None:
    new_user(console, "beto")
    beto = logged_in(console, "beto")
    assert re.findall(r'<tr data-point="([^"]+)"', beto.get("/ui/").text) == []
    jefa = logged_in(console, "jefa")
    page = jefa.get("/ui/admin/usuarios/beto").text
    assert re.findall(r'name="punto:([^"]+)"(?: checked)?', page) == [site.NORTE, site.SUR]
    answer = post(jefa, "/ui/admin/usuarios/beto/puntos", {f"punto:{site.SUR}": "on"}, "/ui/admin/usuarios/beto")
    assert (answer.status_code, answer.headers["location"]) == (303, "/ui/admin/usuarios/beto?hecho=puntos")
    assert re.findall(r'<tr data-point="([^"]+)"', beto.get("/ui/").text) == [site.SUR]
    assert api(console, "/api/v1/users/beto/points")["items"] == [site.SUR]
    assert re.findall(r'name="punto:([^"]+)" checked', jefa.get("/ui/admin/usuarios/beto").text) == [site.SUR]


def test_a_password_reset_ends_the_accounts_sessions_and_the_new_one_works(console: Console) -> None:
    new_user(console, "caro")
    caro = logged_in(console, "caro")
    jefa = logged_in(console, "jefa")
    post(jefa, "/ui/admin/usuarios/caro/clave", {"password": "otra clave larga"}, "/ui/admin/usuarios/caro")
    assert caro.get("/ui/", follow_redirects=False).headers["location"] == "/ui/login"
    login = console.client.post("/api/v1/auth/login", json={"username": "caro", "password": "otra clave larga"})
    assert login.status_code == 200


@pytest.mark.parametrize(
    ("rol", "estado", "is_admin", "is_active"),
    [("administrador", "activo", True, True), ("operador", "desactivado", False, False)],
)
def test_an_accounts_role_and_state_are_changed(
    console: Console, rol: str, estado: str, is_admin: bool, is_active: bool
) -> None:
    username = f"dani-{rol[:3]}"
    new_user(console, username)
    jefa = logged_in(console, "jefa")
    post(
        jefa,
        f"/ui/admin/usuarios/{username}",
        {"email": "dani@example.cl", "rol": rol, "estado": estado},
        f"/ui/admin/usuarios/{username}",
    )
    account = api(console, f"/api/v1/users/{username}")
    assert (account["email"], account["is_admin"], account["is_active"]) == ("dani@example.cl", is_admin, is_active)


def test_the_api_refusing_a_change_shows_why_and_changes_nothing(console: Console) -> None:
    new_user(console, "eva")
    jefa = logged_in(console, "jefa")
    answer = post(jefa, "/ui/admin/usuarios/eva/clave", {"password": "corta"}, "/ui/admin/usuarios/eva")
    assert answer.status_code == 422
    assert (
        re.search(r'<p class="notice error" role="alert">(.*?)</p>', answer.text)
        .group(1)
        .startswith("No se pudo guardar: ")
    )
    assert (
        console.client.post("/api/v1/auth/login", json={"username": "eva", "password": site.PASSWORD}).status_code
        == 200
    )


def test_a_points_data_and_meter_settings_are_changed(console: Console) -> None:
    code = "OB-0601-450"
    console.client.post(
        "/api/v1/points", json={"code": code, "name": "Pozo Este", "kind": "subterranea"}, headers=console.seeded.admin
    ).raise_for_status()
    jefa = logged_in(console, "jefa")
    answer = post(
        jefa,
        f"/ui/admin/puntos/{code}",
        {
            "name": "Pozo Este nuevo",
            "kind": "subterranea",
            "status": "maintenance",
            "latitude": "-33,5",
            "longitude": "-70,7",
            "water_right_lps": "12,5",
            "sensor_depth_m": "55",
            "flow_cutoff_lps": "0,2",
        },
        f"/ui/admin/puntos/{code}",
    )
    assert answer.status_code == 303
    point = api(console, f"/api/v1/points/{code}")
    assert {
        key: point[key]
        for key in ("name", "status", "latitude", "longitude", "water_right_lps", "sensor_depth_m", "flow_cutoff_lps")
    } == {
        "name": "Pozo Este nuevo",
        "status": "maintenance",
        "latitude": -33.5,
        "longitude": -70.7,
        "water_right_lps": 12.5,
        "sensor_depth_m": 55.0,
        "flow_cutoff_lps": 0.2,
    }


def test_saving_the_dga_form_without_a_password_keeps_the_stored_one_and_every_hidden_setting(console: Console) -> None:
    before = api(console, f"/api/v1/points/{site.NORTE}/compliance/dga")
    jefa = logged_in(console, "jefa")
    page = jefa.get(f"/ui/admin/puntos/{site.NORTE}").text
    assert site.INFORMANT_PASSWORD not in page
    fields = dict(re.findall(r'<input id="d-[^"]+" name="([^"]+)"[^>]*? value="([^"]*)"', page))
    selects = dict(
        re.findall(r'<select id="d-[^"]+" name="([^"]+)">.*?<option selected>([^<]+)</option>', page, re.DOTALL)
    )
    assert (fields["valid_from"], fields["base_url"] == before["config"]["base_url"]) == ("2026-11-28T09:00", True)
    answer = post(
        jefa,
        f"/ui/admin/puntos/{site.NORTE}/dga",
        {**fields, **selects, "meter_profile": "siemens-mag6000", "caudal_max_lps": "40"},
        f"/ui/admin/puntos/{site.NORTE}",
    )
    assert answer.status_code == 303, answer.text
    after = api(console, f"/api/v1/points/{site.NORTE}/compliance/dga")
    assert after["config"] == {
        **before["config"],
        "meter_profile": "siemens-mag6000",
        "limits": {**before["config"]["limits"], "caudal_max_lps": "40"},
    }
    assert (after["password_set"], after["updated_by"]) == (True, "jefa")


def test_the_sma_form_stores_a_configuration_whose_password_is_never_shown(console: Console) -> None:
    jefa = logged_in(console, "jefa")
    form = {
        "mode": "shadow",
        "uf_id": "UF-7",
        "proceso_id": "P-1",
        "dispositivo_id": "D-3",
        "usuario": site.INFORMANT,
        "password": "clave-sma-secreta",
        "cadence_minutes": "5",
        "timestamp_utc_offset_hours": "-4",
        "base_url": "",
        "p0_variable": "flow",
        "p0_nombre": "Caudal",
        "p0_unidad": "L/s",
        "p0_decimals": "1",
        "p1_variable": "",
        "p1_nombre": "",
        "p1_unidad": "",
        "p1_decimals": "",
    }
    answer = post(jefa, f"/ui/admin/puntos/{site.SUR}/sma", form, f"/ui/admin/puntos/{site.SUR}")
    assert answer.status_code == 303, answer.text
    stored = api(console, f"/api/v1/points/{site.SUR}/compliance/sma")
    assert (stored["config"]["parameters"], stored["config"]["uf_id"], stored["password_set"]) == (
        [{"variable": "flow", "nombre": "Caudal", "unidad": "L/s", "decimals": 1}],
        "UF-7",
        True,
    )
    page = jefa.get(f"/ui/admin/puntos/{site.SUR}").text
    assert ("clave-sma-secreta" in page, 'value="UF-7"' in page) == (False, True)


def test_a_renewed_token_is_shown_once_and_the_old_one_stops_working(console: Console) -> None:
    old = new_gateway(console, "gw-token")
    jefa = logged_in(console, "jefa")
    answer = post(jefa, "/ui/gateways/gw-token/token", {}, "/ui/gateways/gw-token")
    token = re.search(r'<p class="token"><code>([^<]+)</code>', answer.text).group(1)
    assert token not in jefa.get("/ui/gateways/gw-token").text
    statuses = [
        console.client.get("/api/v1/ingest/points", headers={"Authorization": f"Bearer {t}"}).status_code
        for t in (old, token)
    ]
    assert statuses == [401, 200]


def test_a_revoked_gateway_is_refused_until_its_token_is_renewed(console: Console) -> None:
    token = new_gateway(console, "gw-revocar")
    jefa = logged_in(console, "jefa")
    post(jefa, "/ui/gateways/gw-revocar/revocar", {}, "/ui/gateways/gw-revocar")
    assert console.client.get("/api/v1/ingest/points", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert "revocado" in re.search(
        r'<tr data-gateway="gw-revocar">(.*?)</tr>', jefa.get("/ui/gateways").text, re.DOTALL
    ).group(1)


def test_an_invalid_configuration_shows_each_problem_with_file_line_and_field_and_stores_nothing(
    console: Console,
) -> None:
    new_gateway(console, "gw-malo")
    jefa = logged_in(console, "jefa")
    document = WRONG_BUS.format(point=site.NORTE)
    answer = post(
        jefa, "/ui/gateways/gw-malo/versiones", {"document": document, "reason": "prueba"}, "/ui/gateways/gw-malo"
    )
    assert answer.status_code == 422
    problems = [
        re.sub(r"<[^>]+>", "", item)
        for item in re.findall(
            r"<li>(.*?)</li>", re.search(r'id="errores">(.*?)</div>', answer.text, re.DOTALL).group(1)
        )
    ]
    assert problems == ["gw-malo/v1.yaml:8: devices[0].bus: no hay un bus &#39;rs485&#39;; los buses son: plc"]
    assert document.replace("'", "&#39;") in answer.text  # kept in the textarea to correct it
    assert api(console, "/api/v1/gateways/gw-malo/config/versions")["total"] == 0


def test_a_published_version_is_pending_until_the_gateway_runs_it(console: Console) -> None:
    token = new_gateway(console, "gw-config")
    jefa = logged_in(console, "jefa")
    for reason, publish in (("alta", {}), ("corte", {"publicar": "on"})):
        answer = post(
            jefa,
            "/ui/gateways/gw-config/versiones",
            {
                "document": METER.format(point=site.NORTE)
                if reason == "alta"
                else METER.format(point=site.NORTE).replace("port: 1502", "port: 1503"),
                "reason": reason,
                **publish,
            },
            "/ui/gateways/gw-config",
        )
        assert answer.status_code == 303, answer.text
    states = dict(re.findall(r'<tr data-version="(\d+)" data-state="(\w+)"', jefa.get("/ui/gateways/gw-config").text))
    assert states == {"2": "pending", "1": "stored"}
    heartbeat = {
        "schema": 1,
        "gateway": "gw-config",
        "sent_at": site.SECOND_PASS.isoformat(),
        "readings": [],
        "agent": {
            "version": "0.1.0",
            "buffer_depth": 0,
            "config": {"source": "central", "running_version": 2, "result": "applied"},
        },
    }
    console.client.post(INGEST_PATH, json=heartbeat, headers={"Authorization": f"Bearer {token}"}).raise_for_status()
    page = jefa.get("/ui/gateways/gw-config").text
    assert dict(re.findall(r'<tr data-version="(\d+)" data-state="(\w+)"', page)) == {"2": "running", "1": "stored"}
    assert re.findall(r'<td class="estado">(.*?)</td>', page) == [
        'publicada, en uso<br><span class="muted">último resultado: applied</span>',
        "guardada",
    ]
    row = re.search(r'<tr data-gateway="gw-config">(.*?)</tr>', jefa.get("/ui/gateways").text, re.DOTALL).group(1)
    assert re.findall(r'class="(?:config-source|running)">(.*?)</td>', row) == ["servidor", "v2"]
    diff = jefa.get("/ui/gateways/gw-config/diferencias?desde=1&hasta=2").text
    assert re.findall(r'<span class="diff-(?:add|del)">(.*?)</span>', diff) == ["-    port: 1502", "+    port: 1503"]
