"""The DGA/SMA configuration API: admin writes, visible-point reads, passwords never shown."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from central.app import create_app
from central.crypto import SecretBox
from tests.compliance.worker_support import ADMIN, ANA, BOB, CODE, PASSWORD, SECRET_KEY, seed

URL = f"/api/v1/points/{CODE}/compliance/dga"
DGA = {
    "mode": "shadow",
    "work_type": "subterranea",
    "codigo_obra": CODE,
    "standard": "mayor",
    "informant_rut": "12.345.678-5",
    "informant_password": PASSWORD,
    "base_url": "http://127.0.0.1:9",
    "valid_from": "2026-11-01T04:00:00Z",
}
SMA = {
    "mode": "live",
    "uf_id": "UF1",
    "proceso_id": "P7",
    "dispositivo_id": "12180",
    "usuario": "12345678-5",
    "password": "sma-clave",
    "base_url": "http://127.0.0.1:9",
    "timestamp_utc_offset_hours": -4,
    "parameters": [
        {"variable": "flow", "nombre": "Q", "unidad": "l/s"},
        {"variable": "totalizer", "nombre": "VA", "unidad": "m3", "decimals": 0},
    ],
}


@pytest.fixture
def client(app_client, clock):
    seed(app_client.app.state.ctx.db, clock.now())
    return app_client


def stored_secret(client) -> str:
    with client.app.state.ctx.db.connect() as conn:
        return conn.fetchval("SELECT secret FROM compliance_configs")


def test_put_stores_the_password_encrypted_and_never_returns_it(client):
    answer = client.put(URL, json=DGA, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    assert PASSWORD not in answer.text and PASSWORD not in client.get(URL, headers=ADMIN).text
    assert answer.json()["password_set"] is True
    assert answer.json()["config"]["informant_rut"] == "12345678-5"
    assert SecretBox(SECRET_KEY).decrypt(stored_secret(client)) == PASSWORD
    assert PASSWORD not in stored_secret(client)


def test_a_put_without_password_keeps_the_stored_one(client):
    client.put(URL, json=DGA, headers=ADMIN)
    change = {k: v for k, v in DGA.items() if k != "informant_password"} | {"mode": "off"}
    answer = client.put(URL, json=change, headers=ADMIN)
    assert (answer.status_code, answer.json()["config"]["mode"]) == (200, "off")
    assert SecretBox(SECRET_KEY).decrypt(stored_secret(client)) == PASSWORD


@pytest.mark.parametrize(
    ("change", "stored"),
    [
        ({"standard": "medio"}, ("day", "average")),
        ({"standard": "mayor"}, ("hour", "instant")),
        ({"standard": "mayor", "period": "fortnight"}, ("fortnight", "average")),
        ({"standard": "medio", "caudal_mode": "instant"}, ("day", "instant")),
    ],
)
def test_a_saved_configuration_keeps_the_period_and_caudal_mode_in_force(client, change, stored):
    answer = client.put(URL, json=DGA | change, headers=ADMIN)
    shown = client.get(URL, headers=ADMIN).json()["config"]
    assert (answer.status_code, (shown["period"], shown["caudal_mode"])) == (200, stored)


def test_a_new_configuration_needs_a_password(client):
    answer = client.put(URL, json={k: v for k, v in DGA.items() if k != "informant_password"}, headers=ADMIN)
    assert (answer.status_code, answer.json()["error"]["message"]) == (
        422,
        "informant_password: obligatorio en una configuración nueva",
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"codigo_obra": "OB-601-444"},
            "body.codigo_obra: codigoObra 'OB-601-444' no tiene la forma OB|OR-NNNN-N (por ejemplo OB-0601-444)",
        ),
        (
            {"informant_rut": "12345678-9"},
            "body.informant_rut: el RUT '12345678-9' tiene dígito verificador 9; su número necesita 5",
        ),
        (
            {"work_type": "superficial"},
            "work_type: superficial no corresponde al punto OB-0601-444, de tipo subterranea",
        ),
        (
            {"valid_to": "2026-10-01T00:00:00Z"},
            "body: valid_to 2026-10-01T00:00:00+00:00 debe ser posterior a valid_from",
        ),
    ],
)
def test_bad_configurations_are_refused_naming_the_field(client, change, message):
    answer = client.put(URL, json={**DGA, **change}, headers=ADMIN)
    assert answer.status_code == 422
    assert answer.json()["error"]["message"].startswith(message)
    assert client.get(URL, headers=ADMIN).status_code == 404


@pytest.mark.parametrize(
    ("method", "headers", "status"),
    [("put", ANA, 403), ("delete", ANA, 403), ("get", ANA, 200), ("get", BOB, 404), ("get", {}, 401)],
)
def test_who_may_do_what(client, method, headers, status):
    client.put(URL, json=DGA, headers=ADMIN)
    kwargs = {"json": DGA} if method == "put" else {}
    assert getattr(client, method)(URL, headers=headers, **kwargs).status_code == status


def test_changes_and_deletion_are_in_the_audit_trail_and_the_compliance_log(client):
    client.put(URL, json=DGA, headers=ADMIN)
    client.put(URL, json={**DGA, "mode": "live"}, headers=ADMIN)
    assert client.delete(URL, headers=ADMIN).status_code == 204
    with client.app.state.ctx.db.connect() as conn:
        audit = conn.fetchall(
            "SELECT actor, action, subject, detail FROM audit_log WHERE action LIKE 'compliance.%' ORDER BY id"
        )
    assert [(r["actor"], r["action"], r["subject"]) for r in audit] == [
        ("admin", "compliance.dga.created", f"point:{CODE}"),
        ("admin", "compliance.dga.changed", f"point:{CODE}"),
        ("admin", "compliance.dga.deleted", f"point:{CODE}"),
    ]
    assert all(PASSWORD not in r["detail"] for r in audit)
    log = client.get("/api/v1/compliance/log", headers=ANA).json()
    assert [(e["kind"], e["actor"]) for e in log["items"]] == [
        ("config.deleted", "admin"),
        ("config.changed", "admin"),
        ("config.changed", "admin"),
    ]
    assert PASSWORD not in json.dumps(log)


def test_sma_configuration_round_trip_without_the_password(client):
    answer = client.put(f"/api/v1/points/{CODE}/compliance/sma", json=SMA, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    shown = client.get(f"/api/v1/points/{CODE}/compliance/sma", headers=ANA).json()
    assert "sma-clave" not in json.dumps(shown)
    assert [p["nombre"] for p in shown["config"]["parameters"]] == ["Q", "VA"]


def test_without_a_secret_key_passwords_cannot_be_stored(settings, clock):
    with TestClient(create_app(settings.model_copy(update={"secret_key": None}), clock=clock)) as client:
        seed(client.app.state.ctx.db, clock.now())
        answer = client.put(URL, json=DGA, headers=ADMIN)
    assert (answer.status_code, answer.json()["error"]["code"]) == (409, "secret_key_missing")


def test_without_the_control_centre_rut_a_dga_work_cannot_be_enabled(settings, clock):
    with TestClient(create_app(settings.model_copy(update={"dga_rut_empresa": None}), clock=clock)) as client:
        seed(client.app.state.ctx.db, clock.now())
        answer = client.put(URL, json=DGA, headers=ADMIN)
    assert (answer.status_code, answer.json()["error"]["code"]) == (409, "rut_empresa_missing")


def test_the_log_is_bounded_by_from_and_to(client, clock):
    client.put(URL, json=DGA, headers=ADMIN)
    first = clock.now()
    clock.advance(3600)
    client.put(URL, json={**DGA, "mode": "live"}, headers=ADMIN)
    clock.advance(3600)
    client.delete(URL, headers=ADMIN)
    window = {"from": (first + timedelta(minutes=30)).isoformat(), "to": clock.now().isoformat()}
    log = client.get("/api/v1/compliance/log", headers=ANA, params=window).json()
    assert [(e["kind"], e["at"]) for e in log["items"]] == [("config.changed", "2026-11-28T14:00:00Z")]
