"""Two demo-like wells for the console tests, seeded the way a real installation fills up:
accounts through the library, points, gateway and DGA configuration through the API, a
day of readings through the real ingest route, and the DGA ledger by the real compliance
worker against the local DGA stand-in.

``OB-0601-444`` (Pozo Norte) reports within its right and its last due slot (13:00 UTC) is
accepted: green. ``OB-0601-445`` (Pozo Sur) runs above its right (a flow_above_right alert)
and its totalizer went back at 12:30 with no meter change recorded, so its 13:00 slot is
held for a person: yellow. ``ana`` (an operator) sees only Pozo Norte; ``jefa`` is an admin.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from central.core.users.models import UserCreate
from central.core.users.service import create_user
from central.crypto import SecretBox
from central.db import Database
from central.settings import Settings
from central.telemetry.rollup_worker import drain
from compliance.settings import ComplianceSettings
from compliance.standins.dga import Registration, run_dga_standin
from compliance.worker import run_once
from protocols.clock import ManualClock
from protocols.uplink import INGEST_PATH

PASSWORD = "correct horse battery"
SECRET_KEY = "test-secret-key"
RUT_EMPRESA = "77555666-8"
INFORMANT = "12345678-5"
INFORMANT_PASSWORD = "clave-snia"
GATEWAY = "gw-demo-01"
NORTE, SUR = "OB-0601-444", "OB-0601-445"
START = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)
FIRST_PASS = datetime(2026, 11, 28, 12, 20, tzinfo=UTC)  # slot 12:00 due (10 min grace)
SECOND_PASS = datetime(2026, 11, 28, 13, 20, tzinfo=UTC)  # slot 13:00 due; its deadline is 14:00
STEP = timedelta(minutes=10)
WELLS = [
    {
        "code": NORTE,
        "name": "Pozo Norte",
        "kind": "subterranea",
        "latitude": -33.45,
        "longitude": -70.66,
        "water_right_lps": 15.0,
        "sensor_depth_m": 60.0,
    },
    {
        "code": SUR,
        "name": "Pozo Sur",
        "kind": "subterranea",
        "latitude": -33.52,
        "longitude": -70.75,
        "water_right_lps": 10.0,
        "sensor_depth_m": 80.0,
    },
]


def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, secret_key=SECRET_KEY, dga_rut_empresa=RUT_EMPRESA, workers=False)


def clock() -> ManualClock:
    return ManualClock(FIRST_PASS.isoformat())


@dataclass
class Site:
    admin: dict[str, str]  # headers with the admin's session token (API calls of the tests)
    gateway_token: str


def _login(api: httpx.Client, username: str) -> dict[str, str]:
    answer = api.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _readings(code: str, ts: datetime, index: int) -> list[dict]:
    """Pozo Norte: 12 L/s; Pozo Sur: 12.5 L/s over its 10 L/s right, totalizer 1,000 m3 lower from 12:30."""
    north = code == NORTE
    flow = 12.0 + (index % 3) / 10 if north else 12.5 + (index % 3) / 10
    totalizer = (
        (50_000.0 if north else 80_000.0)
        + index * 7.5
        - (1000.0 if not north and ts >= START.replace(hour=12, minute=30) else 0.0)
    )
    level = 40.0 - (index % 6) / 10 if north else 50.0 - (index % 4) / 10
    return [
        {
            "seq": index * 10 + n + (0 if north else 5),
            "device": f"dev-{code[-3:]}",
            "point": code,
            "variable": variable,
            "ts": ts.isoformat(),
            "value": value,
            "unit": unit,
            "quality": "good",
        }
        for n, (variable, value, unit) in enumerate(
            (("flow", flow, "L/s"), ("totalizer", totalizer, "m3"), ("level", level, "m"))
        )
    ]


def upload(api: httpx.Client, db: Database, token: str, first: datetime, last: datetime, now: datetime) -> None:
    """Both wells' readings from ``first`` to ``last`` (every 10 min) through the ingest route."""
    readings, ts = [], first
    while ts <= last:
        index = int((ts - START) / STEP)
        readings += _readings(NORTE, ts, index) + _readings(SUR, ts, index)
        ts += STEP
    batch = {"schema": 1, "gateway": GATEWAY, "sent_at": now.isoformat(), "readings": readings}
    answer = api.post(INGEST_PATH, json=batch, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    drain(db)


def _accounts(db: Database, now: datetime) -> None:
    with db.transaction() as conn:
        create_user(conn, UserCreate(username="jefa", password=PASSWORD, is_admin=True), "setup", now)
        create_user(conn, UserCreate(username="ana", password=PASSWORD), "setup", now)


def _dga_config(base_url: str, code: str) -> dict:
    return {
        "mode": "live",
        "work_type": "subterranea",
        "codigo_obra": code,
        "standard": "mayor",
        "informant_rut": INFORMANT,
        "informant_password": INFORMANT_PASSWORD,
        "base_url": base_url,
        "valid_from": "2026-11-28T12:00:00Z",
    }


def _worker_pass(db: Database, now_clock: ManualClock, database_url: str) -> None:
    compliance = ComplianceSettings(min_interval_s=0, timeout_s=2, worker_id="w1")
    asyncio.run(run_once(db, now_clock, SecretBox(SECRET_KEY), settings(database_url), compliance))


def seed(api: httpx.Client, db: Database, now_clock: ManualClock, database_url: str) -> Site:
    """The whole site; leaves the clock at :data:`SECOND_PASS`."""
    _accounts(db, now_clock.now())
    admin = _login(api, "jefa")
    for well in WELLS:
        api.post("/api/v1/points", json=well, headers=admin).raise_for_status()
    api.put(f"/api/v1/points/{NORTE}/users/ana", headers=admin).raise_for_status()
    created = api.post("/api/v1/gateways", json={"name": GATEWAY, "points": [NORTE, SUR]}, headers=admin)
    token = created.json()["token"]
    registry = {code: Registration(INFORMANT, INFORMANT_PASSWORD) for code in (NORTE, SUR)}

    async def with_dga() -> None:
        async with run_dga_standin(registry, RUT_EMPRESA, clock=now_clock) as dga:
            for code in (NORTE, SUR):
                api.put(
                    f"/api/v1/points/{code}/compliance/dga", json=_dga_config(dga.url, code), headers=admin
                ).raise_for_status()
            upload(api, db, token, START, FIRST_PASS - STEP, now_clock.now())
            await asyncio.to_thread(_worker_pass, db, now_clock, database_url)
            now_clock.set(SECOND_PASS)
            upload(api, db, token, FIRST_PASS, SECOND_PASS - STEP, now_clock.now())
            await asyncio.to_thread(_worker_pass, db, now_clock, database_url)

    asyncio.run(with_dga())
    return Site(admin=admin, gateway_token=token)
