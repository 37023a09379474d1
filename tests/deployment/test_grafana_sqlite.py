"""Grafana for the single-process SQLite installation, checked as data (no Docker engine on
the test machines): docker-compose.grafana.yml adds only Grafana to docker-compose.yml, reads
the file the caudal container writes, read-only, through the data source its dashboard uses.
The point dashboard's queries run against SQLite in test_grafana_volume.py, the operations
dashboard's below."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from central.db import migrate, open_database
from tests.deployment.support import DOCKER, SINGLE, compose_cli, load_yaml
from tests.deployment.test_observability import FROM, NOW, TO
from tests.deployment.test_observability import _fill as fill

OVERLAY = DOCKER / "docker-compose.grafana.yml"
DATASOURCES = DOCKER / "grafana" / "provisioning-sqlite" / "datasources" / "caudal.yml"
PROVIDER = DOCKER / "grafana" / "provisioning" / "dashboards" / "caudal.yml"
DASHBOARD = DOCKER / "grafana" / "dashboards-sqlite" / "caudal-points.json"
PLUGIN = "frser-sqlite-datasource"


@pytest.fixture(scope="module")
def grafana() -> dict[str, Any]:
    return load_yaml(OVERLAY)["services"]["grafana"]


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> what is mounted there (``source`` or ``source:ro``)."""
    out = {}
    for volume in service["volumes"]:
        source, target, *mode = volume.split(":")
        out[target] = ":".join([source, *mode])
    return out


def test_the_overlay_adds_only_grafana_and_its_own_volume() -> None:
    overlay = load_yaml(OVERLAY)
    assert (list(overlay["services"]), list(overlay["volumes"])) == (["grafana"], ["grafana-sqlite-data"])


def test_grafana_reads_the_caudal_database_directory_read_only(grafana: dict[str, Any]) -> None:
    caudal = load_yaml(SINGLE)["services"]["caudal"]
    database = Path(caudal["environment"]["CAUDAL_DATABASE_URL"].removeprefix("sqlite:///"))
    volume, _ = caudal["volumes"][0].split(":")
    assert mounts(grafana)[str(database.parent)] == f"{volume}:ro"
    source = load_yaml(DATASOURCES)["datasources"][0]
    assert (source["jsonData"]["path"], source["jsonData"]["pathOptions"]) == (str(database), "mode=ro")


def test_grafana_installs_the_plugin_of_its_data_source_and_waits_for_caudal(grafana: dict[str, Any]) -> None:
    source = load_yaml(DATASOURCES)["datasources"][0]
    plugin, version = grafana["environment"]["GF_INSTALL_PLUGINS"].split()
    assert (plugin, source["type"], source["uid"]) == (PLUGIN, PLUGIN, "caudal-sqlite")
    assert version.count(".") == 2  # pinned
    assert grafana["depends_on"] == {"caudal": {"condition": "service_healthy"}}


def test_grafana_is_health_checked_restarted_and_on_the_single_process_network(grafana: dict[str, Any]) -> None:
    single = load_yaml(SINGLE)
    assert grafana["healthcheck"]["test"][0] == "CMD"
    assert (grafana["restart"], grafana["networks"]) == ("unless-stopped", ["caudal"])
    assert set(grafana["networks"]) <= set(single["networks"])
    assert grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")


def test_the_provisioning_mounted_is_the_sqlite_data_source_and_dashboard(grafana: dict[str, Any]) -> None:
    provider = load_yaml(PROVIDER)["providers"][0]
    assert mounts(grafana) == {
        "/etc/grafana/provisioning/datasources": "./grafana/provisioning-sqlite/datasources:ro",
        "/etc/grafana/provisioning/dashboards": "./grafana/provisioning/dashboards:ro",
        provider["options"]["path"]: "./grafana/dashboards-sqlite:ro",
        "/var/lib/caudal": "caudal-data:ro",
        "/var/lib/grafana": "grafana-sqlite-data",
    }
    assert sorted(path.name for path in DASHBOARD.parent.iterdir()) == ["caudal-operations.json", DASHBOARD.name]


@pytest.mark.parametrize("name", ["caudal-points.json", "caudal-operations.json"])
def test_every_panel_and_variable_of_a_dashboard_uses_the_provisioned_data_source(name: str) -> None:
    dashboard = json.loads((DASHBOARD.parent / name).read_text(encoding="utf-8"))
    used = {
        json.dumps(ref, sort_keys=True)
        for panel in dashboard["panels"]
        for ref in [panel["datasource"], *(target["datasource"] for target in panel["targets"])]
    }
    used |= {
        json.dumps(var["datasource"], sort_keys=True) for var in dashboard["templating"]["list"] if "datasource" in var
    }
    assert used == {json.dumps({"type": PLUGIN, "uid": "caudal-sqlite"}, sort_keys=True)}


@pytest.mark.skipif(compose_cli() is None, reason="no Docker Compose CLI here; structure is checked above")
def test_docker_compose_accepts_the_two_files_together(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("CAUDAL_SECRET_KEY=k\nCAUDAL_DGA_RUT_EMPRESA=76123456-7\nGRAFANA_ADMIN_PASSWORD=a\n")
    cli = compose_cli()
    assert cli is not None
    result = subprocess.run(
        [*cli, "--env-file", str(env), "-f", str(SINGLE), "-f", str(OVERLAY), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stderr) == (0, "")


# --- the operations dashboard's queries on a migrated SQLite file ------------------------------

OPERATIONS = DASHBOARD.parent / "caudal-operations.json"


@pytest.fixture(scope="module")
def measured_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data of test_observability.py's PostgreSQL fixture, and three alerts, in SQLite."""
    path = tmp_path_factory.mktemp("grafana-sqlite") / "caudal.db"
    db = open_database(f"sqlite:///{path}")
    try:
        migrate(db)
        with db.transaction() as conn:
            fill(conn)
            point = conn.fetchval("SELECT id FROM points WHERE code = 'OB-1'")
            for number, (severity, status) in enumerate(
                [("warning", "open"), ("critical", "acknowledged"), ("info", "cleared")]
            ):
                conn.execute(
                    "INSERT INTO alerts (id, kind, subject, point_id, severity, status, message, opened_at,"
                    " last_seen_at) VALUES (:id, 'threshold', 'OB-1', :p, :s, :st, 'm', :t, :t)",
                    {"id": f"a{number}", "p": point, "s": severity, "st": status, "t": NOW},
                )
    finally:
        db.close()
    return path


def operations_sql(title: str) -> str:
    dashboard = json.loads(OPERATIONS.read_text(encoding="utf-8"))
    sql = next(panel["targets"][0]["rawQueryText"] for panel in dashboard["panels"] if panel["title"] == title)
    sql = sql.replace("$__from", str(int(datetime.fromisoformat(FROM).timestamp() * 1000)))
    sql = sql.replace("$__to", str(int(datetime.fromisoformat(TO).timestamp() * 1000)))
    sql = sql.replace("$offline_after_s", "900").replace("'now'", f"'{NOW.strftime('%Y-%m-%d %H:%M:%S')}'")
    assert "$" not in sql, sql
    return sql


def read_only(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return conn.execute(sql).fetchall()


def test_the_operations_dashboard_has_the_modular_ones_panels_on_sqlite() -> None:
    modular = json.loads((DOCKER / "grafana" / "dashboards" / "caudal-operations.json").read_text(encoding="utf-8"))
    dashboard = json.loads(OPERATIONS.read_text(encoding="utf-8"))
    assert [panel["title"] for panel in dashboard["panels"]] == [panel["title"] for panel in modular["panels"]]


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Gateways en línea", [(1, 1)]),
        ("Envíos al regulador por estado", [("dga accepted", 2), ("dga rejected", 1), ("dga review", 1)]),
        ("Alertas abiertas y reconocidas", [("acknowledged critical", 1), ("open warning", 1)]),
    ],
)
def test_sqlite_operations_panels_give_the_figures_they_promise(
    measured_sqlite: Path, title: str, expected: list
) -> None:
    assert read_only(measured_sqlite, operations_sql(title)) == expected


@pytest.mark.parametrize("title", ["Gateways", "Envíos por día y estado", "Envíos que esperan a una persona"])
def test_the_other_sqlite_operations_panels_list_their_rows(measured_sqlite: Path, title: str) -> None:
    rows = read_only(measured_sqlite, operations_sql(title))
    assert len(rows) == {"Gateways": 2, "Envíos por día y estado": 3, "Envíos que esperan a una persona": 1}[title]
