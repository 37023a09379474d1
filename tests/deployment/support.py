"""Shared by the deployment tests: where the files are, and small parsers for them."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).parents[2]
DOCKER = ROOT / "docker"
MODULAR = DOCKER / "docker-compose.modular.yml"
SINGLE = DOCKER / "docker-compose.yml"
NGINX_CONF = DOCKER / "nginx" / "nginx.conf"
TLS_EXAMPLE = DOCKER / "nginx" / "tls.conf.example"
MANAGE = ROOT / "scripts" / "manage-modular.sh"

ROLE_PORTS = {"core": 8000, "telemetry": 8001, "compliance": 8002, "alerts": 8003}
DASHBOARD_METRICS = {
    "caudal_http_requests_total",
    "caudal_http_request_seconds_bucket",
    "caudal_ingested_readings_total",
    "caudal_ingest_duplicate_readings_total",
    "caudal_ingest_seconds_bucket",
    "caudal_database_errors_total",
    "caudal_alerts",
    "caudal_alert_pending_marks",
    "caudal_alert_queue_readings",
}
"""The metrics the Prometheus dashboards and alert rules query: each must be exported by a service."""

UPSTREAMS = {
    "caudal_core": "core",
    "caudal_telemetry": "telemetry",
    "caudal_ingest": "telemetry",
    "caudal_compliance": "compliance",
}


def compose_cli() -> list[str] | None:
    """The Docker Compose command of this machine (v1 or the docker plugin), or None without one."""
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    return None


def unit_values(path: Path) -> dict[str, list[str]]:
    """A systemd unit's ``Key=value`` lines as {Key: [value, ...]} (a key may repeat)."""
    return key_values(path.read_text())


def key_values(text: str) -> dict[str, list[str]]:
    """``Key=value`` lines as a unit file writes them, comments left out, as {Key: [value, ...]}."""
    values: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values.setdefault(key, []).append(value)
    return values


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def option(command: list[str], name: str) -> str:
    """The value after ``name`` in a command list (``--port 8001`` -> ``"8001"``)."""
    return command[command.index(name) + 1]


def nginx_upstreams(text: str) -> dict[str, list[str]]:
    """``upstream NAME { server HOST:PORT ...; }`` blocks as {NAME: [HOST:PORT, ...]}."""
    blocks = re.findall(r"upstream\s+(\w+)\s*\{(.*?)\}", text, flags=re.S)
    return {name: re.findall(r"^\s*server\s+(\S+?)[\s;]", body, flags=re.M) for name, body in blocks}


def render_nginx(text: str, listen_port: int, upstream_servers: dict[str, list[str]], prefix: Path) -> str:
    """The production config made runnable here: loopback listener, the given upstream
    servers, and temporary paths under ``prefix`` instead of the image's /var/lib/nginx."""
    for name, servers in upstream_servers.items():
        lines = "".join(f"        server {server} max_fails=3 fail_timeout=10s;\n" for server in servers)
        text, count = re.subn(rf"(upstream {name} \{{\n)(?:\s*server [^\n]*\n)+", rf"\g<1>{lines}", text)
        assert count == 1, name
    text = text.replace("listen 80;", f"listen 127.0.0.1:{listen_port};").replace("listen [::]:80;", "")
    temp_paths = "".join(
        f"    {kind}_temp_path {prefix / kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return text.replace("http {\n", "http {\n" + temp_paths, 1)
