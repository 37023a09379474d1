"""A configuration published on the central server reaches a running agent (issue 18): the real
central app (uvicorn on 127.0.0.1, SQLite and PostgreSQL), the real agent with
``config_source: central``, simulated meters on a real Modbus TCP server.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from central.app import create_app
from central.db import Database
from central.settings import Settings
from edge.agent import run_agent
from edge.managed import central_store_path
from edge.simulator.runner import run_simulator
from edge.state import read_state, state_path
from edge.systemd import Notifier
from protocols.clock import ManualClock
from tests.central.served import serving
from tests.central.telemetry_support import ADMIN_TOKEN, START, seed_site
from tests.central.uplink_support import gw_norte_site
from tests.edge.sites import meter, simulated

ROLLBACK_CYCLES = 2  # the gateway's rollback_cycles, below the default 3: the setting is what counts


@pytest.fixture
def central(settings: Settings, port: int) -> Iterator[tuple[str, Database, TestClient]]:
    app = create_app(settings, clock=ManualClock(START))
    db = app.state.ctx.db
    with db.transaction() as conn:
        seed_site(conn, ManualClock(START).now())
    with serving(app, port) as url, TestClient(app) as admin:
        admin.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        yield url, db, admin


def document(sim_port: int, *devices: tuple[str, int, str], port: int | None = None) -> str:
    lines = [
        "buses:",
        "  - name: plc",
        "    type: tcp",
        "    host: 127.0.0.1",
        f"    port: {port or sim_port}",
        "devices:",
    ]
    for name, unit_id, point in devices:
        lines += [
            f"  - name: {name}",
            "    bus: plc",
            f"    unit_id: {unit_id}",
            f"    point: {point}",
            "    profile: siemens-mag6000",
            "    interval_s: 60",
        ]
    return "\n".join(lines) + "\n"


def publish(admin: TestClient, text: str, reason: str) -> int:
    created = admin.post("/api/v1/gateways/gw-norte/config/versions", json={"document": text, "reason": reason})
    assert created.status_code == 201, created.text
    version = created.json()["version"]
    assert admin.post(f"/api/v1/gateways/gw-norte/config/versions/{version}/publish").status_code == 200
    return version


def flow_slots(db: Database, point: str) -> list[str]:
    with db.connect() as conn:
        rows = conn.fetchall(
            "SELECT r.ts FROM readings r JOIN points p ON p.id = r.point_id"
            " WHERE p.code = :p AND r.variable = 'flow' ORDER BY r.ts",
            {"p": point},
        )
    return [str(row["ts"])[11:16] for row in rows]


async def drive(clock: ManualClock, done: Callable[[], bool], limit_s: int = 900) -> None:
    """Advance the agent's clock a second at a time, letting real I/O run, until ``done``."""
    for _ in range(limit_s):
        if done():
            return
        await clock.run_for(1)
        await asyncio.sleep(0.01)
    raise AssertionError(f"not done within {limit_s} clock seconds")


@pytest.fixture
async def agent(central, tmp_path: Path):
    """A running agent of gw-norte, on its local site.yaml (meter 1 only), taking configuration from the server."""
    url, db, admin = central
    clock = ManualClock(START)
    async with run_simulator(simulated(meter(1), meter(2, flow=7.5)), ManualClock(START)) as sim:
        config = gw_norte_site(tmp_path, sim.tcp_port, url, config_source="central", rollback_cycles=ROLLBACK_CYCLES)
        stop = asyncio.Event()
        task = asyncio.create_task(run_agent(config, clock, stop, notifier=Notifier(""), clock_synced=lambda: True))
        await drive(clock, lambda: flow_slots(db, "P1") != [])
        yield clock, sim.tcp_port, db, admin
        stop.set()
        await drive(clock, task.done, limit_s=120)  # time goes on while the agent stops (a bus's pacing waits on it)
        await task


def reported(admin: TestClient) -> dict:
    status = admin.get("/api/v1/gateways/gw-norte/config").json()
    return {key: status[key] for key in ("config_source", "running_version", "pending_version", "last_result")}


async def test_a_published_configuration_changes_what_the_agent_polls_within_one_cycle(agent, tmp_path: Path):
    clock, sim_port, db, admin = agent
    buffer_inode = (tmp_path / "buffer.db").stat().st_ino
    version = publish(admin, document(sim_port, ("pozo-1", 1, "P1"), ("pozo-2", 2, "P2")), "segundo caudalímetro")
    published_at = clock.now()
    await drive(clock, lambda: flow_slots(db, "P2") != [])
    first_p2 = flow_slots(db, "P2")[0]
    assert first_p2 <= f"{published_at.hour:02d}:{published_at.minute + 2:02d}"  # the upload reply, then one cycle
    await drive(clock, lambda: reported(admin)["running_version"] == version)
    assert reported(admin) == {
        "config_source": "central",
        "running_version": version,
        "pending_version": None,
        "last_result": f"applied version {version}",
    }
    slots = flow_slots(db, "P1")
    assert len(slots) == len(set(slots)) and slots[-1] >= first_p2  # P1 polled on, nothing doubled
    assert (tmp_path / "buffer.db").stat().st_ino == buffer_inode  # the reload never reopened the buffer
    state = read_state(state_path(tmp_path / "buffer.db"))
    assert (state.config_source, state.config_version, state.config_published, state.config_result) == (
        "central",
        version,
        version,
        f"applied version {version}",
    )


async def test_a_configuration_under_which_no_device_answers_is_rolled_back(agent, caplog):
    clock, sim_port, db, admin = agent
    good = publish(admin, document(sim_port, ("pozo-1", 1, "P1"), ("pozo-2", 2, "P2")), "segundo caudalímetro")
    await drive(clock, lambda: reported(admin)["running_version"] == good)
    closed = sim_port + 1 if sim_port < 65000 else sim_port - 1  # nothing listens there
    bad = publish(admin, document(sim_port, ("pozo-1", 1, "P1"), port=closed), "puerto equivocado")
    with caplog.at_level(logging.ERROR, logger="caudal.edge.managed"):
        await drive(clock, lambda: "rolled back" in (reported(admin)["last_result"] or ""))
    assert reported(admin) == {
        "config_source": "central",
        "running_version": good,
        "pending_version": bad,
        "last_result": f"rolled back from version {bad} (no device answered in {ROLLBACK_CYCLES} poll cycles),"
        f" running version {good}",
    }
    before = len(flow_slots(db, "P2"))
    await drive(clock, lambda: len(flow_slots(db, "P2")) > before)  # the good configuration polls again
    assert [r.getMessage() for r in caplog.records] == [
        f"versión {bad} de la configuración central: ningún equipo respondió en {ROLLBACK_CYCLES} ciclos de lectura"
        " tras aplicarla; se vuelve a la anterior"
    ]


async def test_the_applied_version_is_kept_for_a_restart_without_network(agent, tmp_path: Path):
    clock, sim_port, _, admin = agent
    text = document(sim_port, ("pozo-2", 2, "P2"))
    version = publish(admin, text, "solo el pozo 2")
    await drive(clock, lambda: reported(admin)["running_version"] == version)
    kept = central_store_path(tmp_path / "buffer.db").read_text()
    assert f'"version": {version}' in kept and "pozo-2" in kept


async def test_a_gateway_on_local_configuration_ignores_the_server(central, tmp_path: Path):
    url, db, admin = central
    clock = ManualClock(START)
    async with run_simulator(simulated(meter(1), meter(2, flow=7.5)), ManualClock(START)) as sim:
        publish(admin, document(sim.tcp_port, ("pozo-1", 1, "P1"), ("pozo-2", 2, "P2")), "segundo caudalímetro")
        config = gw_norte_site(tmp_path, sim.tcp_port, url)  # config_source: local, the default
        stop = asyncio.Event()
        task = asyncio.create_task(run_agent(config, clock, stop, notifier=Notifier(""), clock_synced=lambda: True))
        await drive(clock, lambda: len(flow_slots(db, "P1")) >= 3 and reported(admin)["config_source"] is not None)
        stop.set()
        await asyncio.wait_for(task, 20)
    assert flow_slots(db, "P2") == []
    assert reported(admin) == {
        "config_source": "local",
        "running_version": None,
        "pending_version": None,
        "last_result": "running the local site.yaml",
    }


async def test_a_document_the_gateway_cannot_run_is_refused_and_the_old_configuration_kept(agent):
    """A version stored by a server that knew a profile this gateway's agent does not (written
    straight into the table here: the API refuses it)."""
    clock, sim_port, db, admin = agent
    unknown = document(sim_port, ("pozo-1", 1, "P1")).replace("siemens-mag6000", "medidor-del-futuro")
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO gateway_configs (gateway_id, version, document, reason, created_by, created_at)"
            " SELECT id, 1, :d, 'x', 'admin', :now FROM gateways WHERE name = 'gw-norte'",
            {"d": unknown, "now": clock.now()},
        )
    assert admin.post("/api/v1/gateways/gw-norte/config/versions/1/publish").status_code == 200
    await drive(clock, lambda: (reported(admin)["last_result"] or "").startswith("refused"))
    result = reported(admin)["last_result"]
    assert result.startswith(
        "refused version 1, still running the local site.yaml: central-v1.yaml:11: devices[0].profile: "
    )
    before = len(flow_slots(db, "P1"))
    await drive(clock, lambda: len(flow_slots(db, "P1")) > before)  # still polling the local configuration
