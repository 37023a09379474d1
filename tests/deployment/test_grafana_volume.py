"""Grafana's volume panels give the API's figures: each panel's SQL, taken from the dashboard
JSON with Grafana's macros substituted, runs on a database filled through the real ingest
path (resets, gaps, readings sent before the gateway's clock synchronised, meter swaps, two
swaps between one pair of readings) after one pass of the rollup worker, and is compared
with ``/api/v1/points/{code}/aggregates?bucket=hour`` on the same data."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from central.app import create_app
from central.settings import Settings
from central.telemetry import compaction, rollup
from protocols.clock import ManualClock
from tests.central.telemetry_support import ADMIN_TOKEN, GATEWAY_TOKEN, batch, iso, reading, seed_site
from tests.deployment.support import DOCKER
from tests.pg import temporary_database

NOW = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)
DAY = datetime(2026, 11, 28, tzinfo=UTC)
DASHBOARDS = {
    "postgresql": DOCKER / "grafana" / "dashboards" / "caudal-points.json",
    "sqlite": DOCKER / "grafana" / "dashboards-sqlite" / "caudal-points.json",
}
PERIOD, HOURLY = "Volumen extraído en el periodo (m³)", "Volumen por hora (m³)"
# Meter swaps: one with the old meter's final count, then two between the readings of 12:40 and 12:42.
SWAPS = [
    {"ts": "2026-11-28T12:15:30Z", "old_final_m3": 41.3, "new_base_m3": 0.0},
    {"ts": "2026-11-28T12:40:20Z", "new_base_m3": 50.0},
    {"ts": "2026-11-28T12:41:00Z", "old_final_m3": 55.0, "new_base_m3": 0.0},
]


def at(hhmm: str) -> datetime:
    hours, minutes = hhmm.split(":")
    return DAY + timedelta(hours=int(hours), minutes=int(minutes))


def totalizer(minute: int) -> tuple[float | None, str]:
    """P1's count at ``minute`` after 09:00, every 2 minutes until 12:58."""
    ts = at("09:00") + timedelta(minutes=minute)
    if at("11:00") <= ts < at("11:20"):
        return None, "timeout"
    quality = "clock_unsynced" if at("09:40") <= ts < at("09:52") else "good"
    if ts < at("10:30"):
        return 1000.0 + 0.5 * minute / 2, quality
    if ts < at("12:16"):
        return 2.0 + 0.75 * (minute - 90) / 2, quality  # a reset to 2.0 at 10:30 (a decrease: adds nothing)
    if ts < at("12:42"):
        return 0.3 + 0.4 * (minute - 196) / 2, quality  # the new meter from 0 after the 12:15:30 swap
    return 0.4 + 0.6 * (minute - 222) / 2, quality  # the third meter from 0 after the two swaps


def p1_readings() -> list[dict[str, Any]]:
    """P1's totalizer, flow and level every 2 minutes from 09:00 to 12:58."""
    out = []
    for minute in range(0, 240, 2):
        value, quality = totalizer(minute)
        ts = at("09:00") + timedelta(minutes=minute)
        out += [
            reading(3 * minute, "totalizer", ts, value, quality=quality),
            reading(3 * minute + 1, "flow", ts, 12.5, quality="good"),
            reading(3 * minute + 2, "level", ts, 31.0, quality="good"),
        ]
    return out


def p2_readings() -> list[dict[str, Any]]:
    return [
        reading(1000 + i, "totalizer", at("09:05") + timedelta(minutes=10 * i), 40.0 + 1.25 * i, point="P2")
        for i in range(24)
    ]


Filled = tuple[str, str, TestClient]
"""(dialect, database URL, app client): the ``filled`` fixture."""


@pytest.fixture(scope="module", params=["postgresql", "sqlite"])
def filled(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Filled]:
    """(dialect, database URL, app client) with the readings ingested, the swaps recorded
    through the API and the rollup worker's pass done."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('grafana') / 'caudal.db'}"
        yield from _filled("sqlite", url)
        return
    with temporary_database(request.getfixturevalue("postgres_admin_url"), "caudal_test_grafana_volume") as url:
        yield from _filled("postgresql", url)


def _filled(dialect: str, url: str) -> Iterator[Filled]:
    clock = ManualClock(NOW)
    with TestClient(create_app(Settings(database_url=url, workers=False), clock=clock)) as client:
        db = client.app.state.ctx.db
        with db.transaction() as conn:
            seed_site(conn, NOW)
        readings = p1_readings() + p2_readings()
        for first in range(0, len(readings), 37):  # batches that split hours, as a backlog upload does
            reply = client.post(
                "/api/v1/ingest",
                json=batch(readings[first : first + 37], NOW),
                headers={"Authorization": f"Bearer {GATEWAY_TOKEN}"},
            )
            assert reply.status_code == 200, reply.text
        for swap in SWAPS:
            reply = client.post(
                "/api/v1/points/P1/meter-changes", json=swap, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
            )
            assert reply.status_code == 201, reply.text
        with db.transaction() as conn:
            while rollup.catch_up(conn, 1000):  # what the rollup worker does every CAUDAL_ROLLUP_INTERVAL_S
                pass
        yield dialect, url, client


def panels(dialect: str) -> dict[str, str]:
    """Title -> SQL of each panel of the dialect's points dashboard."""
    dashboard = json.loads(DASHBOARDS[dialect].read_text(encoding="utf-8"))
    key = "rawSql" if dialect == "postgresql" else "rawQueryText"
    return {panel["title"]: panel["targets"][0][key] for panel in dashboard["panels"]}


def panel_sql(dialect: str, title: str) -> str:
    return panels(dialect)[title]


def expand(sql: str, dialect: str, start: datetime, end: datetime, points: list[str]) -> str:
    """What Grafana and the data source do to the query before running it."""
    quoted = ", ".join(f"'{code}'" for code in points)
    if dialect == "postgresql":
        sql = re.sub(r"\$__timeGroupAlias\(([\w.]+), \$__interval\)", r"date_trunc('hour', \1, 'UTC') AS time", sql)
        sql = re.sub(r"\$__timeFilter\(([\w.]+)\)", rf"\1 BETWEEN '{iso(start)}' AND '{iso(end)}'", sql)
        sql = sql.replace("$__timeFrom()", f"'{iso(start)}'").replace("$__timeTo()", f"'{iso(end)}'")
        sql = sql.replace("$point", quoted)
    else:
        sql = sql.replace("$__from", str(int(start.timestamp() * 1000))).replace(
            "$__to", str(int(end.timestamp() * 1000))
        )
        sql = sql.replace("$__interval_ms", "3600000").replace("${point:sqlstring}", quoted)
    assert "$" not in sql, sql
    return sql


def run(dialect: str, url: str, sql: str) -> list[tuple[Any, ...]]:
    """As Grafana's data source runs it: PostgreSQL through its own connection, the SQLite
    file opened read-only."""
    if dialect == "postgresql":
        with psycopg.connect(url) as conn:
            return conn.execute(sql).fetchall()
    path = url.removeprefix("sqlite:///")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return conn.execute(sql).fetchall()


def panel_rows(filled: Filled, title: str, start: str, end: str, points: tuple[str, ...] = ("P1", "P2")) -> list[Any]:
    """The rows the dashboard's panel ``title`` shows for ``points`` from ``start`` to ``end``
    (HH:MM), on the filled database."""
    dialect, url, _ = filled
    return run(dialect, url, expand(panel_sql(dialect, title), dialect, at(start), at(end), list(points)))


def as_time(value: Any) -> datetime:
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int) else value.astimezone(UTC)


def api_hours(client: TestClient, code: str, start: datetime, end: datetime) -> dict[datetime, float]:
    reply = client.get(
        f"/api/v1/points/{code}/aggregates",
        params={"bucket": "hour", "from": iso(start), "to": iso(end)},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert reply.status_code == 200, reply.text
    return {
        datetime.fromisoformat(item["start"]): item["volume_m3"]
        for item in reply.json()["items"]
        if item["volume_m3"] is not None
    }


RANGES = [("09:00", "13:00"), ("10:20", "12:00"), ("11:00", "11:30"), ("12:00", "13:00"), ("12:41", "12:59")]


@pytest.mark.parametrize(("start", "end"), RANGES)
def test_the_hourly_volume_panel_gives_the_apis_hourly_volumes(filled: Filled, start: str, end: str) -> None:
    client = filled[2]
    panel = {(code, as_time(time)): round(value, 6) for time, code, value in panel_rows(filled, HOURLY, start, end)}
    api = {
        (code, hour): volume
        for code in ("P1", "P2")
        for hour, volume in api_hours(client, code, at(start), at(end)).items()
    }
    assert panel == pytest.approx(api, abs=1e-6)
    assert api  # the range has volumes to compare


@pytest.mark.parametrize(("start", "end"), RANGES)
def test_the_period_volume_panel_gives_the_sum_of_the_apis_hours(filled: Filled, start: str, end: str) -> None:
    rows = panel_rows(filled, PERIOD, start, end)
    api = {code: sum(api_hours(filled[2], code, at(start), at(end)).values()) for code in ("P1", "P2")}
    assert dict(rows) == pytest.approx({code: total for code, total in api.items() if total}, abs=1e-6)


def test_swaps_resets_and_unsynchronised_readings_count_as_the_api_counts_them(filled: Filled) -> None:
    """The figures themselves, worked out by hand: what the old panel got wrong."""
    rows = panel_rows(filled, HOURLY, "09:00", "13:00", points=("P1",))
    assert [(as_time(time).strftime("%H:%M"), round(value, 6)) for time, _, value in rows] == [
        ("09:00", 14.5),  # 29 steps of 0.5; the 6 readings sent before the clock synchronised count too
        ("10:00", 18.0),  # 09:58 -> 10:00 (0.5), 14 steps of 0.5, the reset at 10:30 adds nothing, 14 of 0.75
        ("11:00", 22.5),  # 10:58 -> 11:20 across the gap (8.25), then 19 steps of 0.75
        ("12:00", 21.6),  # 0.75 + 7 x 0.75; swap: old meter 41.0 -> 41.3 final, new 0 -> 0.3; 12 x 0.4;
        # two swaps: 50 -> 55 final, then 0 -> 0.4; 8 x 0.6
    ]


def test_both_dashboards_have_the_same_panels() -> None:
    assert list(panels("sqlite")) == list(panels("postgresql"))


@pytest.mark.parametrize("title", list(panels("postgresql")))
def test_every_panel_shows_the_points_with_data(filled: Filled, title: str) -> None:
    """Each query runs as the data source runs it and finds both points' readings (P2 has
    only a totalizer: its flow and level panels show P1 alone)."""
    rows = panel_rows(filled, title, "09:00", "13:00")
    codes = {value for row in rows for value in row if value in ("P1", "P2")}
    assert codes == ({"P1"} if title.startswith(("Caudal", "Nivel")) else {"P1", "P2"})


def test_the_postgresql_panels_read_compacted_hours_as_they_read_readings(filled: Filled) -> None:
    """Every panel over every range gives the same rows once all the readings are compacted
    (migration 0160's functions); last in the module, whose later tests would read them so."""
    dialect, url, client = filled
    if dialect != "postgresql":
        pytest.skip("SQLite does not compact")

    def every_panel() -> dict[tuple[str, str, str], list[tuple[Any, ...]]]:
        return {
            (title, start, end): run(dialect, url, expand(sql, dialect, at(start), at(end), ["P1", "P2"]))
            for title, sql in panels(dialect).items()
            for start, end in RANGES
        }

    before = every_panel()
    assert (
        compaction.compact(client.app.state.ctx.db, NOW + timedelta(days=91), 90)
        == len(p1_readings()) + len(p2_readings()) + 120
    )  # P1's water table, derived from its level (sensor depth 50 m)
    assert every_panel() == before
