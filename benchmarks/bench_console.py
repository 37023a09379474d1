"""The console's Resumen with 500 points and a year of data, on both databases.

Loaded with ``copy_rows``: 500 points with coordinates, each with a DGA configuration and a
year of hourly DGA slots in the ledger (4,380,000 rows: the semáforo looks up each work's
last due slot among them), a year of daily flow/totalizer/level readings (547,500 rows) and
their latest values, and 100 open alerts. Measured in process (the app under a TestClient,
no network), as an administrator who sees every point: ``GET /ui/`` (the whole page: points,
latest values, open alerts and semáforo, rendered) and, as the same-run
baseline, ``GET /api/v1/latest?limit=500`` (the API's latest values of the same 500 points). Each of
ROUNDS rounds makes REQUESTS requests of each and takes their p95; printed are the min,
median and max of the rounds' p95 and of the per-round ratio. Goal: Resumen p95 < 300 ms.
"""

from __future__ import annotations

import math
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from benchmarks.databases import ADMIN_URL, postgres_unreachable, temporary_database
from benchmarks.figures import Figures, spread
from central.app import create_app
from central.core.auth import User
from central.core.tokens import PersonalTokenCreate, create_personal_token
from central.db import Database
from central.settings import Settings
from central.telemetry.ingest import COLUMNS
from protocols.clock import ManualClock

POINTS = 500
NOW = datetime(2026, 11, 28, 13, 20, tzinfo=UTC)
YEAR_AGO = NOW - timedelta(days=365)
ROUNDS, REQUESTS = 5, 20
GOAL_MS = 300.0
LEDGER = ("point_id", "regulator", "slot", "mode", "state", "reasons", "note", "attempt_count", "created_at",
          "updated_at")


def _points(db: Database) -> list[int]:
    with db.transaction() as conn:
        for n in range(POINTS):
            conn.execute("INSERT INTO points (code, name, kind, latitude, longitude, water_right_lps, created_at,"
                         " updated_at) VALUES (:c, :n, 'subterranea', :lat, :lon, 20, :now, :now)",
                         {"c": f"OB-{n // 100 + 1:04d}-{n:03d}", "n": f"Pozo {n}", "lat": -33 - n / 1000,
                          "lon": -70 - n / 1000, "now": YEAR_AGO})
        ids = [row["id"] for row in conn.fetchall("SELECT id FROM points ORDER BY id")]
        for point_id in ids:
            conn.execute("INSERT INTO compliance_configs (point_id, regulator, mode, config, secret, created_at,"
                         " updated_at, updated_by) VALUES (:p, 'dga', 'live', '{}', '', :now, :now, 'bench')",
                         {"p": point_id, "now": YEAR_AGO})
    return ids


def _ledger(ids: list[int]) -> Iterator[tuple]:
    hours = int((NOW - YEAR_AGO) / timedelta(hours=1))
    for point_id in ids:
        for hour in range(hours):
            slot = YEAR_AGO + timedelta(hours=hour)
            state = "pending" if hour == hours - 1 and point_id % 3 == 0 else "accepted"
            yield (point_id, "dga", slot, "live", state, "[]", "", 1, slot, slot)


def _readings(ids: list[int]) -> Iterator[tuple]:
    for point_id in ids:
        for day in range(365):
            ts = YEAR_AGO + timedelta(days=day)
            flow = 10.0 + 5.0 * math.sin(day / 20)
            yield (point_id, ts, "flow", flow, None, "L/s", "good", None, 1, day, ts)
            yield (point_id, ts, "level", 20.0 + math.sin(day / 30), None, "m", "good", None, 1, day, ts)
            yield (point_id, ts, "totalizer", day * 864.0, None, "m3", "good", None, 1, day, ts)


def _latest_and_alerts(db: Database, ids: list[int]) -> None:
    with db.transaction() as conn:
        conn.copy_rows("latest_readings", ("point_id", "variable", "ts", "value", "unit", "quality", "flags"),
                       ((p, v, NOW - timedelta(minutes=5), 12.5, u, "good", None) for p in ids
                        for v, u in (("flow", "L/s"), ("level", "m"), ("totalizer", "m3"))))
        conn.copy_rows("alerts", ("id", "kind", "subject", "point_id", "severity", "status", "message", "opened_at",
                                  "last_seen_at"),
                       ((str(uuid.UUID(int=p)), "flow_above_right", "x", p, "critical", "open", "over its right",
                         NOW - timedelta(hours=1), NOW) for p in ids[:100]))


def load(db: Database) -> str:
    """Everything above; returns an administrator's token."""
    started = time.perf_counter()
    ids = _points(db)
    with db.transaction() as conn:
        conn.copy_rows("compliance_submissions", LEDGER, _ledger(ids))
    with db.transaction() as conn:
        conn.copy_rows("readings", COLUMNS, _readings(ids))
    _latest_and_alerts(db, ids)
    with db.transaction() as conn:
        conn.execute("INSERT INTO users (username, password_hash, is_admin, created_at)"
                     " VALUES ('bench', 'unusable', TRUE, :now)", {"now": NOW})
        user = User(**conn.fetchone("SELECT id, username, is_admin FROM users WHERE username = 'bench'"))
        token = create_personal_token(conn, user, PersonalTokenCreate(name="bench"), NOW).token
        if conn.dialect == "postgresql":
            conn.execute("ANALYZE")
    print(f"   {db.dialect:<10} loaded {POINTS} points, {POINTS * 8760:,} ledger rows, {POINTS * 365 * 3:,}"
          f" readings in {time.perf_counter() - started:.1f} s")
    return token


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def round_p95(request: Callable[[], object]) -> float:
    """The p95 (ms) of REQUESTS requests."""
    samples = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        request()
        samples.append((time.perf_counter() - started) * 1000)
    return p95(samples)


def _ok(client: TestClient, path: str, **kwargs: object) -> Callable[[], object]:
    def request() -> object:
        answer = client.get(path, **kwargs)
        assert answer.status_code == 200, answer.text[:200]
        return answer
    return request


def measure(url: str, figures: Figures) -> None:
    """Rounds alternate baseline and page, so a machine's drift hits both alike."""
    app = create_app(Settings(database_url=url, secret_key="bench-secret", dga_rut_empresa="77555666-8",
                              workers=False), clock=ManualClock(NOW.isoformat()))
    with TestClient(app) as client:
        token = load(app.state.ctx.db)
        latest = _ok(client, "/api/v1/latest?limit=500", headers={"Authorization": f"Bearer {token}"})
        page = _ok(client, "/ui/", cookies={"caudal_session": token})
        latest(), page()  # warm up (template compilation, first queries)
        baseline, resumen = [], []
        for _ in range(ROUNDS):
            baseline.append(round_p95(latest))
            resumen.append(round_p95(page))
    dialect = app.state.ctx.db.dialect
    for name, found in (("GET /api/v1/latest (baseline)", baseline), ("GET /ui/ (Resumen)", resumen)):
        print(f"   {dialect:<10} {name:<30} p95 per round: {spread(found)} ms")
    figures.ratio(f"{dialect}: Resumen p95 (ms) against /api/v1/latest p95 (ms), 500 points", resumen, baseline)
    median = statistics.median(resumen)
    print(f"   {dialect:<10} goal Resumen p95 < {GOAL_MS:.0f} ms: {'met' if median < GOAL_MS else 'NOT met'}"
          f" (median round {median:.0f} ms)")


def main() -> Figures:
    print(f"   {POINTS} points, a year of data; {ROUNDS} rounds of {REQUESTS} requests each, in process")
    figures = Figures("Console: Resumen with 500 points and a year of data")
    with tempfile.TemporaryDirectory() as directory:
        measure(f"sqlite:///{Path(directory) / 'console.db'}", figures)
    if problem := postgres_unreachable():
        print(f"   {problem}")
        return figures
    with temporary_database(ADMIN_URL, "caudal_bench") as url:
        measure(url, figures)
    return figures


if __name__ == "__main__":
    main()
