"""scripts/manage-modular.sh for real, in its native mode: four `caudal central serve`
processes (core, telemetry, compliance, alerts) on a fresh PostgreSQL database, pid and log
files in a temporary run dir."""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.deployment.support import DASHBOARD_METRICS, MANAGE, ROOT
from tests.pg import temporary_database
from tests.ports import free_port

ROLES = ["core", "telemetry", "compliance", "alerts"]
CAUDAL = Path(sys.executable).parent / "caudal"


@dataclass
class Native:
    env: dict[str, str]
    run_dir: Path
    ports: dict[str, int]
    started: subprocess.CompletedProcess[str] | None = None

    def __call__(self, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(MANAGE), *args], env={**self.env, **extra_env}, capture_output=True, text=True, timeout=90
        )

    def pid(self, role: str) -> int:
        return int((self.run_dir / f"{role}.pid").read_text())


def native_env(run_dir: Path, database_url: str) -> tuple[dict[str, str], dict[str, int]]:
    ports = {role: free_port() for role in ROLES}
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(run_dir),
        "LANG": "C.UTF-8",
        **{key: os.environ[key] for key in ("PYTHONPATH",) if key in os.environ},  # the code under test
        "CAUDAL_MANAGE_MODE": "native",
        "CAUDAL_RUN_DIR": str(run_dir),
        "CAUDAL_BIN": str(CAUDAL),
        "CAUDAL_DATABASE_URL": database_url,
        "CAUDAL_SECRET_KEY": secrets.token_urlsafe(32),
        "CAUDAL_START_TIMEOUT": "60",
        "CAUDAL_STOP_TIMEOUT": "15",
        **{f"CAUDAL_{role.upper()}_PORT": str(port) for role, port in ports.items()},
    }
    return env, ports


@pytest.fixture(scope="module")
def database(postgres_admin_url: str) -> Iterator[str]:
    with temporary_database(postgres_admin_url, "caudal_test_manage") as url:
        yield url


@pytest.fixture(scope="module")
def native(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Native]:
    """The four services started once for the module (and stopped at its end)."""
    run_dir = tmp_path_factory.mktemp("run")
    env, ports = native_env(run_dir, database)
    manage = Native(env, run_dir, ports)
    manage.started = manage("start", "all")
    try:
        yield manage
    finally:
        manage("stop", "all")


def test_start_all_starts_four_servers_that_answer(native: Native) -> None:
    started = native.started
    assert started is not None
    expected = "".join(
        f"{role}: iniciado (pid {native.pid(role)}, http://127.0.0.1:{native.ports[role]})\n" for role in ROLES
    )
    assert (started.returncode, started.stdout) == (0, expected), started.stderr


def test_health_all_is_ready_on_postgresql(native: Native) -> None:
    result = native("health", "all")
    expected = "".join(f"{role + ':':<11} listo (http://127.0.0.1:{native.ports[role]})\n" for role in ROLES)
    assert (result.returncode, result.stdout) == (0, expected)


@pytest.mark.parametrize("role", ROLES)
def test_each_port_serves_its_role(native: Native, role: str) -> None:
    reply = httpx.get(f"http://127.0.0.1:{native.ports[role]}/readyz", timeout=5).json()
    assert reply == {"status": "ready", "role": role, "database": "postgresql"}


def test_status_lists_each_running_service(native: Native) -> None:
    result = native("status")
    expected = "".join(
        f"{role + ':':<11} corre (pid {native.pid(role)}, puerto {native.ports[role]}, "
        f"log {native.run_dir / (role + '.log')})\n"
        for role in ROLES
    )
    assert (result.returncode, result.stdout) == (0, expected)


def test_starting_again_changes_nothing(native: Native) -> None:
    before = {role: native.pid(role) for role in ROLES}
    result = native("start", "all")
    expected = "".join(f"{role}: ya corre (pid {before[role]}, puerto {native.ports[role]})\n" for role in ROLES)
    assert (result.returncode, result.stdout) == (0, expected)
    assert {role: native.pid(role) for role in ROLES} == before


def test_telemetry_leaves_alert_evaluation_to_the_alerts_process(native: Native) -> None:
    """As in Docker: every process runs with CAUDAL_ALERT_EVALUATION=role, so telemetry only marks
    the points written and the one alerts process evaluates them."""
    settings = {role: _environment(native.pid(role)).get("CAUDAL_ALERT_EVALUATION") for role in ROLES}
    assert settings == dict.fromkeys(ROLES, "role")


def _environment(pid: int) -> dict[str, str]:
    entries = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(entry.decode().partition("=")[::2] for entry in entries if b"=" in entry)


def test_logs_core_shows_the_core_server_log(native: Native) -> None:
    result = native("logs", "core", CAUDAL_LOG_LINES="1000")
    assert result.returncode == 0
    assert f"se inicia core en 127.0.0.1:{native.ports['core']}" in result.stdout
    assert f"Uvicorn running on http://127.0.0.1:{native.ports['core']}" in result.stdout
    assert f":{native.ports['telemetry']}" not in result.stdout


def test_metrics_named_by_dashboards_and_alerts_are_exported(native: Native) -> None:
    body = httpx.get(f"http://127.0.0.1:{native.ports['telemetry']}/metrics", timeout=5).text
    exported = set(re.findall(r"^(caudal_[a-z_]+)", body, flags=re.M))
    assert exported >= DASHBOARD_METRICS


def test_stopping_telemetry_makes_health_all_fail(native: Native) -> None:
    pid = native.pid("telemetry")
    stopped = native("stop", "telemetry")
    health = native("health", "all")
    restarted = native("start", "telemetry")
    assert stopped.stdout == f"telemetry: detenido (pid {pid})\n"
    assert health.returncode == 1
    assert health.stdout.splitlines()[1] == f"telemetry:  NO RESPONDE en http://127.0.0.1:{native.ports['telemetry']}"
    assert [line.split()[1] for line in health.stdout.splitlines()] == ["listo", "NO", "listo", "listo"]
    assert restarted.returncode == 0


def test_stop_all_ends_every_process_and_removes_the_pid_files(native: Native) -> None:
    pids = {role: native.pid(role) for role in ROLES}
    result = native("stop", "all")
    assert (result.returncode, result.stdout) == (
        0,
        "".join(f"{role}: detenido (pid {pids[role]})\n" for role in ROLES),
    )
    assert sorted(path.name for path in native.run_dir.iterdir()) == [f"{role}.log" for role in sorted(ROLES)]
    assert native("status").stdout == "".join(f"{role + ':':<11} detenido\n" for role in ROLES)


# --- without servers ---------------------------------------------------------------------------------


@pytest.fixture
def idle(tmp_path: Path) -> Native:
    env, ports = native_env(tmp_path / "run", f"sqlite:///{tmp_path / 'caudal.db'}")
    return Native(env, tmp_path / "run", ports)


@pytest.mark.parametrize("content", ["999999999", "not-a-pid", str(os.getpid())], ids=["gone", "garbage", "reused"])
def test_a_stale_pid_file_is_removed_and_reported(idle: Native, content: str) -> None:
    idle.run_dir.mkdir()
    (idle.run_dir / "core.pid").write_text(content)
    result = idle("status", "core")
    assert (result.returncode, result.stdout) == (3, "core:       detenido\n")
    assert result.stderr == f"core: se borró un archivo pid viejo (el pid {content} no es su servidor en marcha)\n"
    assert not (idle.run_dir / "core.pid").exists()


def test_stop_kills_a_server_that_ignores_sigterm_after_the_bounded_wait(idle: Native) -> None:
    idle.run_dir.mkdir()
    code = "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(60)"
    stubborn = subprocess.Popen(
        [sys.executable, "-c", code, "central", "serve", "--role", "compliance", "--port", "1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert stubborn.stdout is not None and stubborn.stdout.readline() == "up\n"
    (idle.run_dir / "compliance.pid").write_text(str(stubborn.pid))
    result = idle("stop", "compliance", CAUDAL_STOP_TIMEOUT="1")
    assert result.stdout == f"compliance: matado (el pid {stubborn.pid} no se detuvo en 1 s tras SIGTERM)\n"
    assert stubborn.wait(5) == -signal.SIGKILL


def test_a_server_that_cannot_start_is_reported_with_its_log(idle: Native) -> None:
    result = idle("start", "core", CAUDAL_DATABASE_URL="mysql://nowhere/caudal")
    assert result.returncode == 1
    assert result.stderr.startswith(f"core: terminó durante el arranque; el final de {idle.run_dir / 'core.log'}:\n")
    assert "mysql://" in result.stderr
    assert not (idle.run_dir / "core.pid").exists()


def test_health_with_nothing_running_fails_for_each_service(idle: Native) -> None:
    result = idle("health", "all")
    expected = "".join(f"{role + ':':<11} NO RESPONDE en http://127.0.0.1:{idle.ports[role]}\n" for role in ROLES)
    assert (result.returncode, result.stdout) == (1, expected)


def test_migrate_applies_the_shared_schema_once(idle: Native) -> None:
    first = idle("migrate", "telemetry")
    again = idle("migrate", "all")
    lines = first.stdout.splitlines()
    assert lines[0] == (
        "migrate telemetry: los servicios comparten un solo esquema; se aplican todas las migraciones pendientes"
    )
    assert lines[1] == "aplicada 0001_core"
    assert lines[-1] == f"{len(lines) - 2} migraciones aplicadas"
    assert (again.returncode, again.stdout) == (0, "la base de datos está al día\n")


def test_settings_and_ports_can_come_from_an_env_file(idle: Native, tmp_path: Path) -> None:
    port = free_port()
    settings = tmp_path / "central.env"
    settings.write_text(f"CAUDAL_CORE_PORT={port}\nCAUDAL_HOST=127.0.0.1\n")
    env = {key: value for key, value in idle.env.items() if key != "CAUDAL_CORE_PORT"}
    result = subprocess.run(
        ["bash", str(MANAGE), "health", "core"],
        env={**env, "CAUDAL_ENV_FILE": str(settings)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (result.returncode, result.stdout) == (1, f"core:       NO RESPONDE en http://127.0.0.1:{port}\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["launch", "all"],
            "error: comando desconocido 'launch' (start, stop, restart, status, logs, health, migrate, mode)\n",
        ),
        (["start", "web"], "error: servicio desconocido 'web': use all, core, telemetry, compliance o alerts\n"),
        (["logs", "core", "--tail"], "error: argumento inesperado '--tail'\n"),
    ],
)
def test_bad_arguments_are_refused_naming_the_argument(idle: Native, args: list[str], message: str) -> None:
    result = idle(*args)
    assert (result.returncode, result.stderr) == (2, message)
    assert not idle.run_dir.exists()


@pytest.mark.parametrize(
    ("args", "status"), [(["--help"], 0), (["-h"], 0), (["help"], 0), ([], 2)], ids=["--help", "-h", "help", "nothing"]
)
def test_usage_is_an_answer_when_asked_for_and_an_error_otherwise(idle: Native, args: list[str], status: int) -> None:
    result = idle(*args)
    shown, other = (result.stdout, result.stderr) if status == 0 else (result.stderr, result.stdout)
    assert (result.returncode, shown.splitlines()[0], other) == (
        status,
        "Maneja los servicios centrales de Caudal: core (8000), telemetry (8001), compliance (8002), alerts (8003).",
        "",
    )


# --- how it decides to use Docker, systemd or plain processes ---------------------------------------


def _stub(directory: Path, name: str, script: str) -> None:
    path = directory / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)


@pytest.mark.parametrize(
    ("docker", "systemctl", "forced", "mode"),
    [
        ("exit 0", "exit 1", "", "docker"),
        ('[ "$1" = info ] && exit 1; exit 0', "exit 1", "", "native"),  # compose present, no engine
        ('[ "$1" = compose ] && exit 1; exit 0', "exit 1", "", "native"),  # engine, no compose plugin
        ("exit 1", '[ "$1" = cat ] && [ "$2" = caudal-central@core.service ]', "", "systemd"),
        ("exit 0", "exit 0", "native", "native"),
        ("exit 1", "exit 1", "docker", "docker"),
    ],
    ids=["docker", "compose-without-engine", "engine-without-compose", "systemd", "forced-native", "forced-docker"],
)
def test_mode_follows_what_works_here(
    idle: Native, tmp_path: Path, docker: str, systemctl: str, forced: str, mode: str
) -> None:
    stubs = tmp_path / "bin"
    stubs.mkdir()
    _stub(stubs, "docker", docker)
    _stub(stubs, "systemctl", systemctl)
    env = {**idle.env, "PATH": f"{stubs}:/usr/bin:/bin", "CAUDAL_MANAGE_MODE": forced}
    result = subprocess.run(["bash", str(MANAGE), "mode"], env=env, capture_output=True, text=True, timeout=30)
    assert (result.returncode, result.stdout) == (0, f"{mode}\n")


@pytest.mark.parametrize(
    ("configured", "units"),
    [
        ([], "core telemetry compliance"),
        (["alerts"], "core telemetry compliance alerts"),
    ],
    ids=["without-alerts-env", "with-alerts-env"],
)
def test_systemd_all_includes_alerts_only_where_it_is_configured(
    idle: Native, tmp_path: Path, configured: list[str], units: str
) -> None:
    stubs, config = tmp_path / "bin", tmp_path / "etc"
    stubs.mkdir()
    config.mkdir()
    _stub(stubs, "systemctl", "exit 0")
    for role in ["core", "telemetry", "compliance", *configured]:
        (config / f"central-{role}.env").write_text(f"CAUDAL_PORT={8000 + ROLES.index(role)}\n")
    env = {
        **idle.env,
        "PATH": f"{stubs}:/usr/bin:/bin",
        "CAUDAL_MANAGE_MODE": "systemd",
        "CAUDAL_SYSTEMD_CONFIG_DIR": str(config),
    }
    result = subprocess.run(["bash", str(MANAGE), "start", "all"], env=env, capture_output=True, text=True, timeout=30)
    expected = " ".join(f"caudal-central@{role}.service" for role in units.split())
    assert (result.returncode, result.stdout) == (0, f"start: {expected}\n")


@pytest.mark.parametrize("script", sorted((ROOT / "scripts").glob("*.sh")), ids=lambda path: path.name)
def test_shell_scripts_pass_shellcheck(script: Path) -> None:
    shellcheck = Path(sys.executable).parent / "shellcheck"
    result = subprocess.run([str(shellcheck), str(script)], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout) == (0, "")
