"""The Resumen reads a fixed number of statements whatever the number of points it shows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from central.db import connection
from tests.factories import add_user

ADMIN_TOKEN = "admin-token"


def _add_points(db: Any, first: int, count: int, now: Any) -> None:
    """Points with latest values, an open alert and a DGA configuration each: every concern
    of the Resumen has rows for every point."""
    with db.transaction() as conn:
        for n in range(first, first + count):
            code = f"P-{n:03d}"
            conn.execute(
                "INSERT INTO points (code, name, kind, created_at, updated_at)"
                " VALUES (:c, :c, 'subterranea', :now, :now)",
                {"c": code, "now": now},
            )
            point_id = conn.fetchval("SELECT id FROM points WHERE code = :c", {"c": code})
            conn.execute(
                "INSERT INTO latest_readings (point_id, variable, ts, value, unit, quality)"
                " VALUES (:p, 'flow', :ts, 1.5, 'L/s', 'good')",
                {"p": point_id, "ts": now - timedelta(minutes=5)},
            )
            conn.execute(
                "INSERT INTO alerts (id, kind, subject, point_id, severity, status, message, opened_at,"
                " last_seen_at) VALUES (:id, 'flow_above_right', 'x', :p, 'critical', 'open', 'x', :now, :now)",
                {"id": f"00000000-0000-0000-0000-{n:012d}", "p": point_id, "now": now},
            )
            conn.execute(
                "INSERT INTO compliance_configs (point_id, regulator, mode, config, secret, created_at,"
                " updated_at, updated_by) VALUES (:p, 'dga', 'live', '{}', '', :now, :now, 'test')",
                {"p": point_id, "now": now},
            )


def _statements_of_the_resumen(client: Any, token: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    """Every statement the app sends while answering ``GET /ui/`` (counted where both
    databases' connections run them), and the page."""
    sent: list[str] = []
    run = connection.BaseConnection._run

    def counted(self: Any, sql: str, params: Any) -> Any:
        sent.append(sql)
        return run(self, sql, params)

    with monkeypatch.context() as patched:
        patched.setattr(connection.BaseConnection, "_run", counted)
        page = client.get("/ui/", headers={"Cookie": f"caudal_session={token}"})
    assert page.status_code == 200, page.text[:300]
    return len(sent), page.text


def test_the_resumen_sends_as_many_statements_for_50_points_as_for_5(
    app_client: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, now = app_client.app.state.ctx.db, clock.now()
    with db.transaction() as conn:
        add_user(conn, "admin", now, token=ADMIN_TOKEN, is_admin=True)
    _add_points(db, 0, 5, now)
    _statements_of_the_resumen(app_client, ADMIN_TOKEN, monkeypatch)  # the session's first use also marks it used
    for_five, five_page = _statements_of_the_resumen(app_client, ADMIN_TOKEN, monkeypatch)
    _add_points(db, 5, 45, now)
    for_fifty, fifty_page = _statements_of_the_resumen(app_client, ADMIN_TOKEN, monkeypatch)
    assert (five_page.count('<tr data-point="'), fifty_page.count('<tr data-point="')) == (5, 50)
    assert fifty_page.count('<a href="/ui/alertas">1</a>') == 50
    assert for_fifty == for_five >= 3  # the three reads, and the session check
