"""The compose files and the image, checked as data (no Docker engine on the test machines):
every long-running service is health-checked, on the network, configured with settings the
application knows; nginx and Prometheus point at services and ports that exist."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from central.settings import Settings
from tests.deployment.support import (
    DOCKER,
    MODULAR,
    NGINX_CONF,
    ROLE_PORTS,
    SINGLE,
    UPSTREAMS,
    compose_cli,
    load_yaml,
    nginx_upstreams,
    option,
)

ONE_SHOT = {"migrate", "grafana-reader"}
LONG_RUNNING = {"postgres", "core", "telemetry", "compliance", "alerts", "nginx", "prometheus", "grafana"}
CAUDAL_SERVICES = ["core", "telemetry", "compliance", "alerts"]


@pytest.fixture(scope="module")
def modular() -> dict[str, Any]:
    return load_yaml(MODULAR)


@pytest.fixture(scope="module")
def single() -> dict[str, Any]:
    return load_yaml(SINGLE)


def test_modular_has_exactly_the_designed_services_and_no_redis(modular: dict[str, Any]) -> None:
    assert set(modular["services"]) == LONG_RUNNING | ONE_SHOT
    assert not [name for name, service in modular["services"].items() if "redis" in service.get("image", "")]


@pytest.mark.parametrize("name", sorted(LONG_RUNNING))
def test_every_long_running_service_is_health_checked_restarted_and_on_the_network(
    modular: dict[str, Any],
    name: str,
) -> None:
    service = modular["services"][name]
    assert service["healthcheck"]["test"][0] == "CMD"
    assert (service["restart"], service["networks"]) == ("unless-stopped", ["caudal"])


@pytest.mark.parametrize("name", sorted(ONE_SHOT))
def test_one_shot_jobs_run_once_without_a_health_check(modular: dict[str, Any], name: str) -> None:
    service = modular["services"][name]
    assert (service["restart"], service["healthcheck"], service["networks"]) == ("no", {"disable": True}, ["caudal"])


def test_network_and_named_volumes_are_declared_and_used(modular: dict[str, Any]) -> None:
    assert modular["networks"] == {"caudal": {"name": "caudal", "driver": "bridge"}}
    used = {
        mount.split(":")[0]
        for service in modular["services"].values()
        for mount in service.get("volumes", [])
        if not mount.startswith(".")
    }
    assert used == set(modular["volumes"]) == {"postgres-data", "prometheus-data", "grafana-data"}


@pytest.mark.parametrize("role", CAUDAL_SERVICES)
def test_each_central_service_serves_its_role_on_its_port(modular: dict[str, Any], role: str) -> None:
    service = modular["services"][role]
    port = str(ROLE_PORTS[role])
    command = service["command"]
    assert (command[0], option(command, "--role"), option(command, "--port"), option(command, "--host")) == (
        "serve",
        role,
        port,
        "0.0.0.0",
    )
    assert (service["expose"], service["environment"]["CAUDAL_PORT"]) == ([port], port)
    assert "'http://127.0.0.1:%s/readyz' % os.environ['CAUDAL_PORT']" in service["healthcheck"]["test"][-1]


@pytest.mark.parametrize("role", CAUDAL_SERVICES)
def test_central_services_share_postgresql_and_wait_for_the_migration(modular: dict[str, Any], role: str) -> None:
    service = modular["services"][role]
    env = service["environment"]
    assert env["CAUDAL_DATABASE_URL"].startswith("postgresql://caudal:")
    assert env["CAUDAL_DATABASE_URL"].endswith("@postgres:5432/caudal")
    assert env["CAUDAL_AUTO_MIGRATE"] == "false"
    assert service["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }
    assert service["image"] == modular["services"]["migrate"]["image"]


def test_alerts_are_evaluated_by_the_one_alerts_service_off_the_ingest_process(modular: dict[str, Any]) -> None:
    """Every central service reads CAUDAL_ALERT_EVALUATION=role (telemetry then only marks the
    points written), and the alerts service, which evaluates them, has one replica."""
    services = modular["services"]
    assert {role: services[role]["environment"]["CAUDAL_ALERT_EVALUATION"] for role in CAUDAL_SERVICES} == {
        role: "role" for role in CAUDAL_SERVICES
    }
    assert services["alerts"].get("deploy", {}).get("replicas", 1) == 1


def test_the_migration_job_migrates_once_the_database_is_up(modular: dict[str, Any]) -> None:
    job = modular["services"]["migrate"]
    assert (job["command"], job["depends_on"]) == (["migrate"], {"postgres": {"condition": "service_healthy"}})


def _caudal_settings(environment: dict[str, str]) -> set[str]:
    return {key.removeprefix("CAUDAL_").lower() for key in environment if key.startswith("CAUDAL_")} - {"port"}


@pytest.mark.parametrize(
    ("path", "service"),
    [(MODULAR, role) for role in [*CAUDAL_SERVICES, "migrate"]] + [(SINGLE, "caudal")],
    ids=[*CAUDAL_SERVICES, "migrate", "single"],
)
def test_every_caudal_variable_is_a_setting_the_application_reads(path: Path, service: str) -> None:
    """CAUDAL_PORT is for the health check; every other CAUDAL_* must be a Settings field
    (a misspelt name would be silently ignored)."""
    environment = load_yaml(path)["services"][service]["environment"]
    assert _caudal_settings(environment) <= set(Settings.model_fields)
    assert {"database_url", "secret_key", "dga_rut_empresa", "auto_migrate", "max_body_bytes"} <= _caudal_settings(
        environment
    )


def test_nginx_upstreams_are_the_central_services_on_their_ports(modular: dict[str, Any]) -> None:
    upstreams = nginx_upstreams(NGINX_CONF.read_text())
    assert upstreams == {name: [f"{role}:{ROLE_PORTS[role]}"] for name, role in UPSTREAMS.items()}
    assert all(role in modular["services"] for role in UPSTREAMS.values())


def test_nginx_mounts_the_tested_configuration(modular: dict[str, Any]) -> None:
    nginx = modular["services"]["nginx"]
    assert nginx["volumes"] == ["./nginx/nginx.conf:/etc/nginx/nginx.conf:ro"]
    assert (DOCKER / "nginx" / "nginx.conf").is_file()


def test_single_process_compose_runs_every_role_on_sqlite(single: dict[str, Any]) -> None:
    assert list(single["services"]) == ["caudal"]
    service = single["services"]["caudal"]
    assert option(service["command"], "--role") == "all"
    assert service["environment"]["CAUDAL_DATABASE_URL"] == "sqlite:////var/lib/caudal/caudal.db"
    assert service["volumes"] == ["caudal-data:/var/lib/caudal"]
    assert set(single["volumes"]) == {"caudal-data"}
    assert service["healthcheck"]["test"][0] == "CMD"
    assert service["networks"] == ["caudal"]


def test_the_image_is_multi_stage_unprivileged_and_health_checked() -> None:
    text = (DOCKER / "Dockerfile").read_text()
    instructions = [line.split()[0] for line in text.splitlines() if line and not line.startswith((" ", "#"))]
    assert instructions.count("FROM") == 2
    assert re.search(r"^COPY --from=build /opt/caudal /opt/caudal$", text, flags=re.M)
    assert re.search(r"^USER caudal:caudal$", text, flags=re.M)
    assert "HEALTHCHECK" in instructions
    assert re.search(r'^ENTRYPOINT \["caudal", "central"\]$', text, flags=re.M)


@pytest.mark.skipif(compose_cli() is None, reason="no Docker Compose CLI here; structure is checked above")
@pytest.mark.parametrize("path", [MODULAR, SINGLE], ids=["modular", "single"])
def test_docker_compose_accepts_the_file(path: Path, tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(
        "CAUDAL_SECRET_KEY=k\nCAUDAL_DGA_RUT_EMPRESA=76123456-7\nPOSTGRES_PASSWORD=p\n"
        "GRAFANA_ADMIN_PASSWORD=a\nGRAFANA_DB_PASSWORD=r\n"
    )
    cli = compose_cli()
    assert cli is not None
    result = subprocess.run(
        [*cli, "--env-file", str(env), "-f", str(path), "config", "--quiet"], capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stderr) == (0, "")
