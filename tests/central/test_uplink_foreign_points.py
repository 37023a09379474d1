"""One device with a wrong point must not stop a gateway's uploads: the edge's Buffer + Uploader
against the real central app (uvicorn on 127.0.0.1), SQLite and PostgreSQL.

The server refuses the batch (403, nothing stored) naming the foreign point; the uploader holds
that point's readings back in the buffer, says so at once, sends the others, and offers the
held ones again after the recheck time, when a corrected assignment lets them through.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from central.db import Database
from edge.agent import run_agent
from edge.buffer import Buffer, PolledReading
from edge.held import HOLD_RECHECK_S
from edge.simulator.runner import run_simulator
from edge.state import read_state, state_path
from edge.systemd import Notifier
from edge.uploader import Uploader, UploadFailed
from protocols.clock import ManualClock
from protocols.uplink import Quality
from tests.central.telemetry_support import GATEWAY_TOKEN, START
from tests.central.uplink_support import uploading
from tests.edge.sites import device, meter, simulated, site, tcp_bus
from tests.edge.uplink_server import until


def polled(clock: ManualClock, device: str, point: str, minutes: int) -> list[PolledReading]:
    start = clock.now() - timedelta(minutes=minutes)
    return [
        PolledReading(device, point, "flow", start + timedelta(minutes=i), float(i + 1), "L/s", Quality.GOOD)
        for i in range(minutes)
    ]


def stored(db: Database) -> list[tuple[str, float]]:
    with db.connect() as conn:
        rows = conn.fetchall(
            "SELECT p.code, r.value FROM readings r JOIN points p ON p.id = r.point_id"
            " WHERE r.variable = 'flow' ORDER BY p.code, r.ts"
        )
    return [(row["code"], row["value"]) for row in rows]


async def test_a_foreign_point_is_held_back_and_the_others_go_on(central, tmp_path: Path, caplog):
    url, db = central
    clock = ManualClock(START)
    readings = polled(clock, "pozo-3", "P3", 2) + polled(clock, "pozo-1", "P1", 3)  # P3 is gw-sur's
    async with uploading(url, tmp_path / "buffer.db", clock, readings) as (buffer, uploader):
        with caplog.at_level(logging.ERROR, logger="caudal.edge.uploader"), pytest.raises(UploadFailed) as refused:
            await uploader.upload_once()
        assert refused.value.retry_after == 0.0
        assert await uploader.upload_once() == 3
        assert (stored(db), [r.point for r in buffer.pending()]) == (
            [("P1", 1.0), ("P1", 2.0), ("P1", 3.0)],
            ["P3", "P3"],
        )
        assert (
            uploader.state.held
            == "lecturas retenidas de los puntos P3: el servidor central las rechaza para este gateway"
        )
    [record] = caplog.records
    assert record.getMessage() == (
        "el servidor central rechaza los puntos P3 del gateway gw-norte (el gateway 'gw-norte' no puede escribir el/los"
        " punto(s) P3 (equipo pozo-3): no le están asignados; no se guardó nada de este lote (asigne los puntos al"
        " gateway o corrija point: en su site.yaml)); sus lecturas quedan en el buffer y se ofrecen de nuevo cada 600 s,"
        " las de los demás puntos siguen subiendo. Corrija point: en site.yaml (caudal edge check --online) o los puntos"
        " del gateway en el servidor"
    )


async def test_held_readings_go_once_the_server_assigns_their_point(central, tmp_path: Path):
    url, db = central
    clock = ManualClock(START)
    readings = polled(clock, "pozo-3", "P3", 2) + polled(clock, "pozo-1", "P1", 1)
    async with uploading(url, tmp_path / "buffer.db", clock, readings) as (buffer, uploader):
        with pytest.raises(UploadFailed):
            await uploader.upload_once()
        assert await uploader.upload_once() == 1
        clock.advance(HOLD_RECHECK_S - 1)
        assert await uploader.upload_once() == 0  # still held: a heartbeat
        with db.transaction() as conn:
            conn.execute(
                "UPDATE gateway_points SET gateway_id = (SELECT id FROM gateways WHERE name = 'gw-norte')"
                " WHERE point_id = (SELECT id FROM points WHERE code = 'P3')"
            )
        clock.advance(1)
        assert await uploader.upload_once() == 2
        assert buffer.pending() == []
    assert stored(db) == [("P1", 1.0), ("P3", 1.0), ("P3", 2.0)]
    assert uploader.state.held is None


def online_site(tmp_path: Path, url: str, points: list[str], token: str = GATEWAY_TOKEN) -> Path:
    (tmp_path / "token").write_text(token)
    devices = [
        {"name": f"pozo-{i}", "bus": "plc", "unit_id": i, "point": point, "profile": "siemens-mag6000"}
        for i, point in enumerate(points, start=1)
    ]
    site = {
        "gateway": {
            "id": "gw-norte",
            "central_url": url,
            "token_file": str(tmp_path / "token"),
            "buffer_path": str(tmp_path / "buffer.db"),
        },
        "buses": [{"name": "plc", "type": "tcp", "host": "127.0.0.1", "port": 1502}],
        "devices": devices,
    }
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(site, sort_keys=False))
    return path


async def check_online(path: Path) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "caudal"),
        "edge",
        "check",
        "--online",
        "-c",
        str(path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, out.decode(), err.decode()


async def test_check_online_names_every_device_whose_point_the_gateway_may_not_report(central, tmp_path: Path):
    url, _ = central
    code, out, err = await check_online(online_site(tmp_path, url, ["P1", "P3", "NOPE"]))
    assert code == 1
    assert out.endswith(" equipos: 3)\n")
    assert err.splitlines() == [
        "error: devices[1] pozo-2: el punto P3 no está asignado al gateway gw-norte en el servidor central (puede"
        " reportar: P1, P2); sus lecturas quedarían retenidas",
        "error: devices[2] pozo-3: el punto NOPE no está asignado al gateway gw-norte en el servidor central (puede"
        " reportar: P1, P2); sus lecturas quedarían retenidas",
    ]


async def test_check_online_passes_when_every_point_is_assigned(central, tmp_path: Path):
    url, _ = central
    code, out, err = await check_online(online_site(tmp_path, url, ["P1", "P2"]))
    assert (code, err) == (0, "")
    assert (
        out.splitlines()[-1]
        == f"{url}: el gateway gw-norte puede reportar el punto de cada equipo (puntos asignados: P1, P2)"
    )


async def test_check_online_with_a_wrong_token_says_what_the_server_said(central, tmp_path: Path):
    url, _ = central
    code, _, err = await check_online(online_site(tmp_path, url, ["P1"], token="not-a-token"))
    assert (code, err) == (1, "error: el servidor central respondió HTTP 401: token de gateway no válido o revocado\n")


async def test_the_agent_keeps_uploading_and_its_status_names_the_held_point(central, tmp_path: Path, caplog):
    url, db = central
    clock = ManualClock(START)
    (tmp_path / "token").write_text(GATEWAY_TOKEN)
    async with run_simulator(simulated(meter(1), meter(3)), clock) as sim:
        config = site(
            tmp_path,
            [tcp_bus(sim.tcp_port)],
            [device("pozo-1", 1, point="P1"), device("pozo-3", 3, point="P3")],
            id="gw-norte",
            central_url=url,
        )
        stop = asyncio.Event()
        agent = asyncio.create_task(run_agent(config, clock, stop, notifier=Notifier(""), clock_synced=lambda: True))
        await until(lambda: len(stored(db)) == 1, timeout_s=10)
        stop.set()
        with caplog.at_level(logging.INFO, logger="edge.flush"):
            await asyncio.wait_for(agent, 10)
    assert [r.getMessage() for r in caplog.records if r.name == "edge.flush"] == []  # held readings: nothing to flush
    assert stored(db) == [("P1", 12.5)]
    assert read_state(state_path(tmp_path / "buffer.db")).uploader_error == (  # published as the agent stopped
        "lecturas retenidas de los puntos P3: el servidor central las rechaza para este gateway"
    )
    with Buffer.open(tmp_path / "buffer.db") as buffer:
        assert {(r.point, r.variable) for r in buffer.pending()} == {("P3", "flow"), ("P3", "totalizer")}
