"""systemd/caudal-central@.service: verifies with systemd-analyze and runs each role
unprivileged with its own settings file."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.deployment.support import ROOT, key_values, unit_values

UNIT = ROOT / "systemd" / "caudal-central@.service"
INSTALLED_EXEC = "/opt/caudal/bin/caudal"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
@pytest.mark.parametrize("role", ["core", "telemetry", "compliance", "alerts"])
def test_each_instance_verifies(tmp_path: Path, role: str) -> None:
    """verify needs ExecStart to exist: a copy pointing at this interpreter, otherwise identical."""
    text = UNIT.read_text()
    assert text.count(INSTALLED_EXEC) == 1
    (tmp_path / UNIT.name).write_text(text.replace(INSTALLED_EXEC, sys.executable))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / f"caudal-central@{role}.service")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stderr) == (0, "")


@pytest.mark.parametrize(
    "lines",
    [
        pytest.param(
            """
            ExecStart=/opt/caudal/bin/caudal central serve --role %i --host ${CAUDAL_HOST} --port ${CAUDAL_PORT}
            Environment=CAUDAL_HOST=127.0.0.1
            Environment=PYTHONUNBUFFERED=1
            EnvironmentFile=/etc/caudal/central.env
            EnvironmentFile=/etc/caudal/central-%i.env
            Restart=always
            TimeoutStopSec=20
            """,
            id="the-role-from-the-instance-name-its-settings-from-two-files",
        ),
        pytest.param(
            """
            User=caudal
            Group=caudal
            NoNewPrivileges=yes
            ProtectSystem=strict
            ProtectHome=yes
            PrivateTmp=yes
            PrivateDevices=yes
            ReadWritePaths=/var/lib/caudal
            CapabilityBoundingSet=
            RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
            SystemCallFilter=@system-service
            """,
            id="unprivileged-and-hardened",
        ),
    ],
)
def test_the_service_has_these_lines(lines: str) -> None:
    """Every value of each key named, in order: a key missing or given once more fails."""
    expected = key_values(textwrap.dedent(lines))
    service = unit_values(UNIT)
    assert {key: service.get(key) for key in expected} == expected
