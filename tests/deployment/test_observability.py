"""Prometheus and Grafana configuration: targets are the compose services, provisioning
points at dashboards that exist, and every dashboard query runs on a migrated PostgreSQL
with the read-only role Grafana uses, giving the figures the panels promise."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from central.db import migrate, open_database
from central.telemetry import rollup
from tests.deployment.support import DASHBOARD_METRICS, DOCKER, MODULAR, ROLE_PORTS, load_yaml
from tests.pg import temporary_database

PROMETHEUS = DOCKER / "prometheus"
GRAFANA = DOCKER / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
READER_SQL = DOCKER / "postgres" / "grafana-reader.sql"

EXPECTED_PANELS = {
    "caudal-points": [
        "Caudal (L/s)",
        "Nivel (m)",
        "Nivel freático (m)",
        "Volumen extraído en el periodo (m³)",
        "Volumen por hora (m³)",
        "Últimos valores",
    ],
    "caudal-operations": [
        "Gateways en línea",
        "Gateways",
        "Envíos al regulador por estado",
        "Envíos por día y estado",
        "Envíos que esperan a una persona",
        "Alertas abiertas y reconocidas",
    ],
    "caudal-services": [
        "Réplicas arriba por servicio",
        "Peticiones por segundo",
        "Errores 5xx por segundo",
        "Latencia p95 por servicio",
        "Lecturas ingeridas por segundo",
        "Tiempo de ingesta por lote (p50, p95)",
        "Errores de base de datos",
    ],
}


def dashboards() -> dict[str, dict[str, Any]]:
    loaded = [json.loads(path.read_text(encoding="utf-8")) for path in DASHBOARDS]
    return {dashboard["uid"]: dashboard for dashboard in loaded}


def targets(datasource_uid: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(dashboard uid, panel title, target) of every query to one data source."""
    return [
        (uid, panel["title"], target)
        for uid, dashboard in dashboards().items()
        for panel in dashboard["panels"]
        for target in panel["targets"]
        if target["datasource"]["uid"] == datasource_uid
    ]


def test_prometheus_scrapes_each_central_service_on_its_port() -> None:
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    found = {
        name: (job["dns_sd_configs"][0]["names"], job["dns_sd_configs"][0]["port"], job["metrics_path"])
        for name, job in jobs.items()
        if name != "prometheus"
    }
    assert found == {role: ([role], port, "/metrics") for role, port in ROLE_PORTS.items()}
    assert set(found) <= set(load_yaml(MODULAR)["services"])


def test_prometheus_loads_the_alert_rules_from_its_mounted_directory() -> None:
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    mount = load_yaml(MODULAR)["services"]["prometheus"]["volumes"][0]
    assert mount == "./prometheus:/etc/prometheus:ro"
    assert [Path(rule).name for rule in config["rule_files"]] == ["alerts.yml"]
    assert all(
        rule.startswith("/etc/prometheus/") and (PROMETHEUS / Path(rule).name).is_file()
        for rule in config["rule_files"]
    )


def test_every_alert_rule_has_an_expression_a_severity_and_a_summary() -> None:
    rules = [rule for group in load_yaml(PROMETHEUS / "alerts.yml")["groups"] for rule in group["rules"]]
    assert [rule["alert"] for rule in rules] == [
        "CaudalServiceDown",
        "CaudalNoTelemetryReplica",
        "CaudalDatabaseErrors",
        "CaudalServerErrors",
        "CaudalIngestSlow",
        "CaudalAlertEvaluationBehind",
    ]
    assert all(
        rule["expr"] and rule["labels"]["severity"] in {"warning", "critical"} and rule["annotations"]["summary"]
        for rule in rules
    )


def test_grafana_provisions_the_dashboard_directory_it_mounts() -> None:
    provider = load_yaml(GRAFANA / "provisioning" / "dashboards" / "caudal.yml")["providers"][0]
    grafana = load_yaml(MODULAR)["services"]["grafana"]
    assert "./grafana/dashboards:" + provider["options"]["path"] + ":ro" in grafana["volumes"]
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    assert [path.name for path in DASHBOARDS] == [
        "caudal-operations.json",
        "caudal-points.json",
        "caudal-services.json",
    ]


def test_every_dashboard_has_the_expected_panels_on_provisioned_data_sources() -> None:
    provisioned = {
        source["uid"]: source["type"]
        for source in load_yaml(GRAFANA / "provisioning" / "datasources" / "caudal.yml")["datasources"]
    }
    found = dashboards()
    assert {
        uid: [panel["title"] for panel in dashboard["panels"]] for uid, dashboard in found.items()
    } == EXPECTED_PANELS
    used = {
        (ref["uid"], ref["type"])
        for dashboard in found.values()
        for panel in dashboard["panels"]
        for ref in [panel["datasource"], *(target["datasource"] for target in panel["targets"])]
    }
    assert used == set(provisioned.items())


def test_prometheus_queries_use_metrics_the_services_export() -> None:
    """Names only; test_manage.py scrapes a running service for the same set."""
    exprs = " ".join(target["expr"] for _, _, target in targets("caudal-prometheus"))
    exprs += " ".join(
        rule["expr"] for group in load_yaml(PROMETHEUS / "alerts.yml")["groups"] for rule in group["rules"]
    )
    assert set(re.findall(r"caudal_[a-z_]+", exprs)) == DASHBOARD_METRICS


# --- the SQL panels against a real, migrated PostgreSQL --------------------------------------

FROM, TO = "2026-11-28T00:00:00+00:00", "2026-11-29T00:00:00+00:00"
NOW = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)


def expand_macros(sql: str, points: str = "'OB-1', 'OB-2'") -> str:
    """What Grafana does to the query before sending it, for a fixed range and interval."""
    sql = re.sub(r"\$__timeGroupAlias\((\w+(?:\.\w+)?), [^)]+\)", r"date_trunc('hour', \1) AS time", sql)
    sql = re.sub(r"\$__timeFilter\((\w+(?:\.\w+)?)\)", rf"\1 BETWEEN '{FROM}' AND '{TO}'", sql)
    sql = sql.replace("$__timeFrom()", f"'{FROM}'").replace("$__timeTo()", f"'{TO}'")
    sql = sql.replace("($point)", f"({points})").replace("$offline_after_s", "900")
    assert "$" not in sql, sql
    return sql


@pytest.fixture(scope="module")
def measured_db(postgres_admin_url: str) -> Iterator[str]:
    """A migrated database shared by this module's read-only tests: two points, two
    gateways (one silent for an hour), readings with a meter swap, submissions in
    several states."""
    with temporary_database(postgres_admin_url, "caudal_test_grafana") as url:
        db = open_database(url)
        try:
            migrate(db)
            with db.transaction() as conn:
                _fill(conn)
        finally:
            db.close()
        yield url


def _fill(conn: Any) -> None:
    for code in ("OB-1", "OB-2"):
        conn.execute(
            "INSERT INTO points (code, name, kind, created_at, updated_at) VALUES (:c, :c, 'subterranea', :t, :t)",
            {"c": code, "t": NOW},
        )
    ids = {row["code"]: row["id"] for row in conn.fetchall("SELECT id, code FROM points")}
    for name, seen in (("gw-1", NOW), ("gw-2", NOW - timedelta(hours=1))):
        conn.execute(
            "INSERT INTO gateways (name, token_hash, token_created_at, created_at, last_seen_at) "
            "VALUES (:n, :n, :t, :t, :s)",
            {"n": name, "t": NOW, "s": seen},
        )
    totals = [100.0, 110.0, 3.0, 18.0]  # a meter swap between the 2nd and 3rd reading
    for minute, total in enumerate(totals):
        ts = NOW - timedelta(minutes=30 - minute * 10)
        for variable, value, unit in (("totalizer", total, "m3"), ("flow", 10.0 + minute, "L/s"), ("level", 5.0, "m")):
            conn.execute(
                "INSERT INTO readings (point_id, ts, variable, value, unit, quality, received_at) "
                "VALUES (:p, :ts, :v, :x, :u, 'good', :ts)",
                {"p": ids["OB-1"], "ts": ts, "v": variable, "x": value, "u": unit},
            )
    rollup.refresh_range(
        conn, ids["OB-1"], NOW - timedelta(hours=1), NOW + timedelta(hours=1)
    )  # the rollup worker's part
    for hour, state in enumerate(["accepted", "accepted", "review", "rejected"]):
        conn.execute(
            "INSERT INTO compliance_submissions (point_id, regulator, slot, mode, state, created_at, updated_at)"
            " VALUES (:p, 'dga', :s, 'live', :st, :t, :t)",
            {"p": ids["OB-1"], "s": NOW - timedelta(hours=hour + 1), "st": state, "t": NOW},
        )


def _panel_sql(uid: str, title: str) -> str:
    return next(target["rawSql"] for dash, panel, target in targets("caudal-postgres") if (dash, panel) == (uid, title))


@pytest.mark.parametrize(
    ("uid", "title", "expected"),
    [
        ("caudal-points", "Volumen extraído en el periodo (m³)", [("OB-1", 25.0)]),
        (
            "caudal-operations",
            "Envíos al regulador por estado",
            [("dga accepted", 2), ("dga rejected", 1), ("dga review", 1)],
        ),
    ],
)
def test_sql_panels_give_the_figures_they_promise(measured_db: str, uid: str, title: str, expected: list) -> None:
    with psycopg.connect(measured_db) as conn:
        assert conn.execute(expand_macros(_panel_sql(uid, title))).fetchall() == expected


def test_gateways_online_counts_recent_contact_at_the_database_clock(measured_db: str) -> None:
    sql = expand_macros(_panel_sql("caudal-operations", "Gateways en línea")).replace(
        "now()", f"'{NOW.isoformat()}'::timestamptz"
    )
    with psycopg.connect(measured_db) as conn:
        assert conn.execute(sql).fetchall() == [(1, 1)]


# --- the read-only role -------------------------------------------------------------------


@pytest.fixture(scope="module")
def reader_url(measured_db: str, postgres_admin_url: str) -> Iterator[str]:
    """The role created by docker/postgres/grafana-reader.sql, as the grafana-reader job runs it."""
    if shutil.which("psql") is None:
        pytest.skip("psql (Debian package postgresql-client) is not installed")
    name = f"caudal_grafana_test_{measured_db.rsplit('_', 1)[-1]}"
    command = [
        "psql",
        measured_db,
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-v",
        f"reader={name}",
        "-v",
        "reader_password=it's secret",
        "-f",
        str(READER_SQL),
    ]
    for _ in range(2):  # idempotent: the job runs after every migration
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert (result.returncode, result.stderr) == (0, "")
    try:
        yield make_conninfo(measured_db, user=name, password="it's secret")
    finally:
        with psycopg.connect(measured_db, autocommit=True) as conn:
            conn.execute(f'DROP OWNED BY "{name}"')
            conn.execute(f'DROP ROLE "{name}"')


def test_every_sql_panel_runs_with_the_read_only_role(reader_url: str) -> None:
    queries = [(uid, title, expand_macros(target["rawSql"])) for uid, title, target in targets("caudal-postgres")]
    queries += [
        (uid, variable["name"], variable["query"])
        for uid, dashboard in dashboards().items()
        for variable in dashboard["templating"]["list"]
        if variable["type"] == "query"
    ]
    with psycopg.connect(reader_url, autocommit=True) as conn:
        ran = [(uid, title) for uid, title, sql in queries if conn.execute(sql).description]
    assert len(ran) == len(queries) == 12


FORBIDDEN = [
    "SELECT password_hash FROM users",
    "SELECT token_hash FROM api_tokens",
    "SELECT token_hash FROM gateways",
    "SELECT secret FROM compliance_configs",
    "SELECT measurement FROM compliance_submissions",
    "SELECT request FROM compliance_attempts",
    "SELECT detail FROM audit_log",
    "DELETE FROM readings",
]


def test_the_read_only_role_cannot_read_secrets_or_write(reader_url: str) -> None:
    refused = []
    with psycopg.connect(reader_url, autocommit=True) as conn:
        for sql in FORBIDDEN:
            try:
                conn.execute(sql)
            except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ReadOnlySqlTransaction):
                refused.append(sql)
    assert refused == FORBIDDEN
