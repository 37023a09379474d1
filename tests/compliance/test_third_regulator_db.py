"""A third regulator is one package and one registry entry: the toy ``tercero``
(tests/compliance/tercero.py), registered here and nowhere else, is configured through its own
routes (password encrypted, never shown), stored by the configuration store, run by the worker
against a real (refusing) address, judged by the alert rules that name it, and named by the
alerts' texts as its package says (compliance/README.md, "Adding a regulator")."""

from __future__ import annotations

import re

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from central.app import create_app
from central.crypto import hash_password
from central.telemetry.alerts.service import evaluate_timer
from compliance.config_api import add_config_routes
from compliance.registry import REGULATORS
from tests.compliance.tercero import NAME, TERCERO
from tests.compliance.worker_support import ADMIN, CODE, add_readings, one_pass, seed, utc

URL = f"/api/v1/points/{CODE}/compliance/{NAME}"
CONFIG = {"mode": "live", "cuenta": "c-1", "clave": "clave-tercero", "base_url": "http://127.0.0.1:9/registros"}


@pytest.fixture
def client(monkeypatch, settings, clock):
    """The app with ``tercero`` in the registry (as its package's entry would put it) and its
    routes made by the function compliance.api makes every regulator's with."""
    monkeypatch.setitem(REGULATORS, NAME, TERCERO)
    app = create_app(settings, clock=clock)
    router = APIRouter(prefix="/api/v1", tags=["compliance"])
    add_config_routes(router, TERCERO)
    app.include_router(router)
    app.state.console.api.app.include_router(router)  # the console's in-process API, whatever was imported first
    with TestClient(app) as test_client:
        seed(app.state.ctx.db, clock.now())
        yield test_client


def test_its_configuration_is_stored_with_the_password_encrypted_and_never_shown(client):
    put = client.put(URL, json=CONFIG, headers=ADMIN)
    got = client.get(URL, headers=ADMIN)
    assert (put.status_code, got.status_code) == (200, 200), put.text
    assert {key: got.json()[key] for key in ("regulator", "config", "password_set")} == {
        "regulator": NAME,
        "password_set": True,
        "config": {"mode": "live", "cuenta": "c-1", "base_url": "http://127.0.0.1:9/registros"},
    }
    with client.app.state.ctx.db.connect() as conn:
        assert "clave-tercero" not in conn.fetchval(
            "SELECT secret FROM compliance_configs WHERE regulator = :r", {"r": NAME}
        )


def test_the_app_context_knows_it_for_the_alerts_and_the_console(client):
    regulators = client.app.state.ctx.regulators
    assert (regulators.names, regulators.spoken(NAME)) == (("dga", "sma", NAME), "la autoridad de prueba")


async def test_the_worker_reports_it_and_the_alerts_name_it(client, database_url, clock):
    db = client.app.state.ctx.db
    client.put(URL, json=CONFIG, headers=ADMIN)
    with db.connect() as conn:
        point_id = conn.fetchval("SELECT id FROM points WHERE code = :c", {"c": CODE})
    add_readings(db, point_id, utc("2026-11-28T13:10:00"), flow=12.5)
    clock.set("2026-11-28T14:05:00+00:00")
    actions = await one_pass(db, clock, database_url)
    assert [(a.regulator, a.slot.isoformat(), a.action, a.state) for a in actions] == [
        (NAME, "2026-11-28T13:00:00+00:00", "created", "pending"),
        (NAME, "2026-11-28T13:00:00+00:00", "sent", "retry_scheduled"),
    ]
    rules = [{"kind": "submission_failed", "regulator": NAME}]
    assert client.put(f"/api/v1/points/{CODE}/alert-rules", json=rules, headers=ADMIN).status_code == 200
    evaluate_timer(db, clock.now(), regulators=client.app.state.ctx.regulators)
    alerts = client.get("/api/v1/alerts", headers=ADMIN).json()["items"]
    assert [(a["kind"], a["message"].split(" desde ")[0]) for a in alerts] == [
        ("submission_failed", "Los envíos a la autoridad de prueba fallan")
    ]


def test_a_rule_naming_a_regulator_nobody_registered_is_refused(client):
    rules = [{"kind": "submission_failed", "regulator": "cuarto"}]
    answer = client.put(f"/api/v1/points/{CODE}/alert-rules", json=rules, headers=ADMIN)
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["loc"] == ["body", 0, "regulator"]
    assert "no hay un regulador 'cuarto' (registrados: dga, sma, tercero)" in answer.text


def test_the_console_configures_it_with_the_generic_form_its_password_write_only(client):
    """The point's Administración page offers a form for every registered regulator without one of its own."""
    with client.app.state.ctx.db.transaction() as conn:
        conn.execute("UPDATE users SET password_hash = :h WHERE username = 'admin'", {"h": hash_password("clave-jefa")})
    console = TestClient(client.app)
    login = console.get("/ui/login").text
    console.post("/ui/login", data={"username": "admin", "password": "clave-jefa", "csrf": csrf(login)})
    page = console.get(f"/ui/admin/puntos/{CODE}").text
    answer = console.post(
        f"/ui/admin/puntos/{CODE}/reguladores/{NAME}",
        follow_redirects=False,
        data={
            "csrf": csrf(page),
            "mode": "shadow",
            "clave": "clave-tercero",
            "settings": '{"cuenta": "c-1", "base_url": "http://127.0.0.1:9/registros"}',
        },
    )
    stored = client.get(URL, headers=ADMIN).json()
    assert (f'id="reg-{NAME}-form"' in page, answer.status_code) == (True, 303), answer.text
    assert (stored["config"], stored["password_set"]) == (
        {"mode": "shadow", "cuenta": "c-1", "base_url": "http://127.0.0.1:9/registros"},
        True,
    )
    assert "clave-tercero" not in console.get(f"/ui/admin/puntos/{CODE}").text


def csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)
