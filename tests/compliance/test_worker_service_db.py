"""The worker as the service runs it (``workers(ctx)`` on a timer) and as ``caudal compliance
run-once`` prints it."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from central.app import create_app
from compliance.dga.config import Period
from compliance.dga.slots import slot_at_or_before
from compliance.standins.dga import run_dga_standin
from tests.compliance import worker_support as support

SLOT = support.utc("2026-11-28T12:00:00")
RUN = [sys.executable, "-c", "from caudal.cli import main; main()", "compliance", "run-once"]


async def test_the_service_worker_sends_due_slots_on_its_timer(settings, monkeypatch):
    """Real time here: the service's clock is the system clock, the timer ticks every 0.1 s."""
    monkeypatch.setenv("CAUDAL_COMPLIANCE_MIN_INTERVAL_S", "0")
    monkeypatch.setenv("CAUDAL_COMPLIANCE_INTERVAL_S", "0.1")
    slot = slot_at_or_before(datetime.now(UTC) - timedelta(minutes=15), Period.HOUR)
    async with run_dga_standin(support.REGISTRY, support.RUT_EMPRESA) as dga:
        with TestClient(create_app(settings.model_copy(update={"workers": True}))) as client:
            db = client.app.state.ctx.db
            point_id = support.seed(db, slot)
            support.add_readings(db, point_id, slot, flow=10, totalizer=1000, water_table=30)
            window = {"valid_from": slot.isoformat(), "valid_to": (slot + timedelta(minutes=30)).isoformat()}
            support.configure_dga(db, point_id, dga.url, slot, **window)
            for _ in range(100):  # until the GET check too: the stand-in serves only while this loop awaits
                if support.ledger(db) and support.ledger(db)[0][1] == "accepted" and len(dga.received) == 2:
                    break
                await asyncio.sleep(0.05)
            assert support.ledger(db) == [(slot.isoformat(), "accepted", next(iter(dga.stored.values())).comprobante)]
    assert [r["method"] for r in dga.received] == ["POST", "GET"]


async def run_cli(database_url: str, *args: str) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "CAUDAL_DATABASE_URL": database_url,
        "CAUDAL_SECRET_KEY": support.SECRET_KEY,
        "CAUDAL_DGA_RUT_EMPRESA": support.RUT_EMPRESA,
        "CAUDAL_COMPLIANCE_MIN_INTERVAL_S": "0",
    }
    process = await asyncio.create_subprocess_exec(
        *RUN, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, out.decode(), err.decode()


@pytest.fixture
async def configured(db, clock):
    async with run_dga_standin(support.REGISTRY, support.RUT_EMPRESA, clock=clock) as dga:
        point_id = support.seed(db, clock.now())
        support.add_readings(db, point_id, SLOT, flow=10, totalizer=1000, water_table=30)
        support.configure_dga(db, point_id, dga.url, clock.now(), valid_to="2026-11-28T12:30:00Z")
        yield dga


async def test_run_once_prints_what_it_did_as_json(db, database_url, configured):
    code, out, err = await run_cli(database_url, "--now", "2026-11-28T13:00:00Z", "--json")
    (stored,) = configured.stored.values()
    assert (code, err) == (0, "")
    assert json.loads(out) == [
        {
            "point": "OB-0601-444",
            "regulator": "dga",
            "slot": "2026-11-28T12:00:00+00:00",
            "action": "created",
            "state": "pending",
            "detail": "",
        },
        {
            "point": "OB-0601-444",
            "regulator": "dga",
            "slot": "2026-11-28T12:00:00+00:00",
            "action": "sent",
            "state": "accepted",
            "detail": stored.comprobante,
        },
        {
            "point": "OB-0601-444",
            "regulator": "dga",
            "slot": "2026-11-28T12:00:00+00:00",
            "action": "checked",
            "state": "accepted",
            "detail": "confirmed",
        },
    ]


async def test_run_once_prints_a_table_by_default(db, database_url, configured):
    code, out, _ = await run_cli(database_url, "--now", "2026-11-28T13:00:00Z")
    assert code == 0
    assert "OB-0601-444" in out and "accepted" in out and out.rstrip().endswith("3 acciones")
    assert [cell.strip() for cell in out.splitlines()[1].split("┃")[1:-1]] == [
        "punto",
        "regulador",
        "medición (UTC)",
        "acción",
        "estado",
        "detalle",
    ]


@pytest.mark.parametrize(
    ("now", "message"),
    [
        ("2026-11-28T13:00:00", "error: --now: '2026-11-28T13:00:00' no tiene zona horaria (agregue Z o +00:00)\n"),
        ("ayer", "error: --now: 'ayer' no es una hora ISO 8601 (por ejemplo 2026-11-28T13:00:00Z)\n"),
    ],
    ids=["without-zone", "not-a-time"],
)
async def test_run_once_refuses_a_time_it_cannot_use(db, database_url, now, message):
    assert await run_cli(database_url, "--now", now) == (2, "", message)
