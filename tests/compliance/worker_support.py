"""A small site for the compliance tests, seeded through :mod:`tests.factories` (fast, no argon2).

Point ``OB-0601-444`` (groundwater, water right 20 L/s, level sensor at 50 m), written by
gateway ``gw-pozo-1``, with readings stored by telemetry's own store function
(:func:`tests.factories.add_readings`) or uploaded through the real ingest route
(:func:`upload`); its DGA configuration stored through
:mod:`compliance.config_store` with the test secret key. ``admin`` and ``ana`` (sees the point)
have personal tokens.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from central.crypto import SecretBox
from central.db import Database
from central.settings import Settings
from central.telemetry.rollup_worker import drain
from compliance.config_store import put_config
from compliance.dga.config import DgaConfigIn
from compliance.registry import REGULATORS
from compliance.settings import ComplianceSettings
from compliance.sma.config import SmaConfigIn
from compliance.standins.dga import Registration
from compliance.worker import run_once
from protocols.clock import Clock
from protocols.uplink import INGEST_PATH, MAX_BATCH_READINGS
from tests import factories
from tests.factories import add_gateway, add_point, add_user, grant

CODE = "OB-0601-444"
RUT_EMPRESA = "77555666-8"
INFORMANT = "12345678-5"
PASSWORD = "clave-snia"
SECRET_KEY = "test-secret-key"
ADMIN = {"Authorization": "Bearer admin-token"}
ANA = {"Authorization": "Bearer ana-token"}
BOB = {"Authorization": "Bearer bob-token"}
GATEWAY_NAME = "gw-pozo-1"
GATEWAY_TOKEN = "gw-pozo-1-token"
REGISTRY = {CODE: Registration(INFORMANT, PASSWORD)}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def seed(db: Database, now: datetime) -> int:
    """Users, tokens, the point and its gateway; returns the point id."""
    with db.transaction() as conn:
        for username, admin in (("admin", True), ("ana", False), ("bob", False)):
            add_user(conn, username, now, token=f"{username}-token", is_admin=admin)
        point_id = add_point(conn, CODE, now, name="Pozo 1", water_right_lps=20, sensor_depth_m=50)
        grant(conn, "ana", CODE)
        add_gateway(conn, GATEWAY_NAME, GATEWAY_TOKEN, [CODE], now)
        return point_id


def add_readings(db: Database, point_id: int, ts: datetime, **values: float | None) -> None:
    """One reading per variable at ``ts`` (None: a timeout gap), in a transaction of its own."""
    with db.transaction() as conn:
        factories.add_readings(conn, point_id, ts, **values)


def upload(client: TestClient, readings: dict[datetime, dict[str, float]], sent_at: datetime) -> None:
    """What the point's gateway uploads (``{ts: {variable: value}}``), through the real ingest
    route; then the hourly summaries are refreshed as the rollup worker does, which records
    the hours that changed for compliance."""
    units = {"flow": "L/s", "totalizer": "m3", "level": "m"}
    sent = [
        {
            "seq": int(ts.timestamp()) * 10 + index,
            "device": "dev-1",
            "point": CODE,
            "variable": variable,
            "ts": ts.isoformat(),
            "value": value,
            "unit": units[variable],
            "quality": "good",
        }
        for ts, values in readings.items()
        for index, (variable, value) in enumerate(sorted(values.items()))
    ]
    for first in range(0, len(sent), MAX_BATCH_READINGS):
        document = {
            "schema": 1,
            "gateway": GATEWAY_NAME,
            "sent_at": sent_at.isoformat(),
            "readings": sent[first : first + MAX_BATCH_READINGS],
        }
        response = client.post(INGEST_PATH, json=document, headers={"Authorization": f"Bearer {GATEWAY_TOKEN}"})
        assert response.status_code == 200, response.text
    drain(client.app.state.ctx.db)


def dga_config(base_url: str, **overrides: Any) -> DgaConfigIn:
    values = {
        "mode": "live",
        "work_type": "subterranea",
        "codigo_obra": CODE,
        "standard": "mayor",
        "informant_rut": INFORMANT,
        "informant_password": PASSWORD,
        "base_url": base_url,
        "valid_from": "2026-11-28T12:00:00Z",
        **overrides,
    }
    return DgaConfigIn(**values)


def configure(db: Database, point_id: int, regulator: str, body: DgaConfigIn | SmaConfigIn, now: datetime) -> None:
    with db.transaction() as conn:
        point = conn.fetchone("SELECT * FROM points WHERE id = :id", {"id": point_id})
        put_config(conn, SecretBox(SECRET_KEY), point, REGULATORS[regulator], body, "admin", now)


def configure_dga(db: Database, point_id: int, base_url: str, now: datetime, **overrides: Any) -> None:
    """The work's DGA configuration (:func:`dga_config` with ``overrides``) stored as of ``now``."""
    configure(db, point_id, "dga", dga_config(base_url, **overrides), now)


def central_settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, secret_key=SECRET_KEY, dga_rut_empresa=RUT_EMPRESA, workers=False)


def worker_settings(worker_id: str = "w1", **overrides: Any) -> ComplianceSettings:
    return ComplianceSettings(min_interval_s=0, timeout_s=2, worker_id=worker_id, **overrides)


async def one_pass(db: Database, clock: Clock, database_url: str, worker_id: str = "w1"):
    return await run_once(db, clock, SecretBox(SECRET_KEY), central_settings(database_url), worker_settings(worker_id))


def ledger(db: Database, regulator: str = "dga") -> list[tuple[str, str, str | None]]:
    """(slot, state, comprobante) of every ledger row, oldest slot first."""
    with db.connect() as conn:
        rows = conn.fetchall(
            "SELECT slot, state, comprobante FROM compliance_submissions WHERE regulator = :r ORDER BY slot",
            {"r": regulator},
        )
    return [(row["slot"].isoformat(), row["state"], row["comprobante"]) for row in rows]


def journal(db: Database) -> str:
    """The compliance events in order, one per line: what an assertion shows when a pass did
    not send what it should (the worker logs why a send failed there, not in the ledger)."""
    with db.connect() as conn:
        rows = conn.fetchall("SELECT at, kind, message FROM compliance_events ORDER BY id")
    return "\n".join(f"{row['at']} {row['kind']}: {row['message']}" for row in rows)


def posts(stand_in) -> list[dict[str, Any]]:
    """The POSTs the stand-in received: headers that matter and the whole body."""
    return [
        {
            "codigoObra": r["headers"].get("codigoObra"),
            "timeStampOrigen": r["headers"].get("timeStampOrigen"),
            "body": r["body"],
        }
        for r in stand_in.received
        if r["method"] == "POST"
    ]


def body(fecha: str, hora: str, caudal: str, totalizador: str, nivel: str) -> dict[str, Any]:
    return {
        "autenticacion": {"password": PASSWORD, "rutEmpresa": RUT_EMPRESA, "rutUsuario": INFORMANT},
        "medicionSubterranea": {
            "caudal": caudal,
            "fechaMedicion": fecha,
            "horaMedicion": hora,
            "nivelFreaticoDelPozo": nivel,
            "totalizador": totalizador,
        },
    }
