"""Grafana for the single-process SQLite installation, checked as data (no Docker engine on
the test machines): docker-compose.grafana.yml adds only Grafana to docker-compose.yml, reads
the file the caudal container writes, read-only, through the data source its dashboard uses.
The dashboard's queries run against SQLite in test_grafana_volume.py."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.deployment.support import DOCKER, SINGLE, load_yaml

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
    assert sorted(path.name for path in DASHBOARD.parent.iterdir()) == [DASHBOARD.name]


def test_every_panel_and_variable_of_the_dashboard_uses_the_provisioned_data_source() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    used = {json.dumps(ref, sort_keys=True) for panel in dashboard["panels"]
            for ref in [panel["datasource"], *(target["datasource"] for target in panel["targets"])]}
    used |= {json.dumps(var["datasource"], sort_keys=True) for var in dashboard["templating"]["list"]
             if "datasource" in var}
    assert used == {json.dumps({"type": PLUGIN, "uid": "caudal-sqlite"}, sort_keys=True)}


def _compose_cli() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    return None


@pytest.mark.skipif(_compose_cli() is None, reason="no Docker Compose CLI here; structure is checked above")
def test_docker_compose_accepts_the_two_files_together(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("CAUDAL_SECRET_KEY=k\nCAUDAL_DGA_RUT_EMPRESA=76123456-7\nGRAFANA_ADMIN_PASSWORD=a\n")
    cli = _compose_cli()
    assert cli is not None
    result = subprocess.run([*cli, "--env-file", str(env), "-f", str(SINGLE), "-f", str(OVERLAY), "config", "--quiet"],
                            capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stderr) == (0, "")
