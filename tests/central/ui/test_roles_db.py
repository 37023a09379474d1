"""Which role serves the console: core (behind nginx it answers every path the other roles do
not) and all; its Cumplimiento and Punto pages work on core, which reads telemetry and
compliance through every role's routes in process. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from central.app import create_app
from central.core.users.models import UserCreate
from central.core.users.service import create_user
from protocols.clock import ManualClock
from tests.central.ui import site
from tests.central.ui.console import database_url_of, login_csrf


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url_of(request.param, request, tmp_path) as url:
        yield url


@pytest.mark.parametrize(("role", "status"), [("all", 200), ("core", 200), ("telemetry", 404), ("compliance", 404)])
def test_the_console_is_served_by_the_core_role(database_url: str, role: str, status: int) -> None:
    with TestClient(create_app(site.settings(database_url), role=role, clock=ManualClock())) as client:
        assert client.get("/ui/login").status_code == status


def test_on_the_core_role_the_console_reads_telemetry_and_compliance(database_url: str) -> None:
    clock = ManualClock(site.SECOND_PASS.isoformat())
    app = create_app(site.settings(database_url), role="core", clock=clock)
    with TestClient(app) as client:
        with app.state.ctx.db.transaction() as conn:
            create_user(conn, UserCreate(username="jefa", password=site.PASSWORD, is_admin=True), "setup", clock.now())
        client.post("/ui/login", data={"username": "jefa", "password": site.PASSWORD, "csrf": login_csrf(client)})
        admin_token = client.cookies["caudal_session"]
        point = dict(site.WELLS[0])
        client.post("/api/v1/points", json=point, headers={"Authorization": f"Bearer {admin_token}"})
        pages = {
            path: client.get(path).status_code
            for path in (
                "/ui/",
                f"/ui/puntos/{site.NORTE}",
                "/ui/alertas",
                "/ui/cumplimiento",
                "/ui/gateways",
                "/ui/admin",
            )
        }
    assert pages == dict.fromkeys(pages, 200)
