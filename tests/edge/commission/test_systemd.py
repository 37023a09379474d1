"""The unit file passes ``systemd-analyze verify`` and keeps the properties the agent relies on."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deployment.support import unit_values

UNIT = Path(__file__).parents[3] / "systemd" / "caudal-edge.service"
INSTALLED_EXEC = "/opt/caudal/bin/caudal"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_unit_verifies(tmp_path):
    """verify needs ExecStart to exist: check a copy pointing at this interpreter, otherwise identical."""
    text = UNIT.read_text()
    assert text.count(INSTALLED_EXEC) == 1
    copy = tmp_path / "caudal-edge.service"
    copy.write_text(text.replace(INSTALLED_EXEC, sys.executable))
    result = subprocess.run(["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stderr) == (0, "")


def _service() -> dict[str, list[str]]:
    return unit_values(UNIT)


def test_unit_runs_the_agent_as_a_watched_unprivileged_service():
    service = _service()
    expected = {
        "Type": ["notify"],
        "ExecStart": ["/opt/caudal/bin/caudal edge run -c /etc/caudal/site.yaml"],
        "Restart": ["always"],
        "User": ["caudal"],
        "SupplementaryGroups": ["dialout"],
        "StateDirectory": ["caudal"],
        "ReadWritePaths": ["/var/lib/caudal"],
        "NoNewPrivileges": ["yes"],
        "ProtectSystem": ["strict"],
        "ProtectHome": ["yes"],
        "PrivateTmp": ["yes"],
        "DevicePolicy": ["closed"],
        "DeviceAllow": ["char-ttyS rw", "char-ttyUSB rw", "char-ttyACM rw", "char-ttyAMA rw"],
        "RestrictAddressFamilies": ["AF_UNIX AF_INET AF_INET6"],
    }
    assert {key: service.get(key) for key in expected} == expected
    assert int(service["WatchdogSec"][0]) > 60  # above the default device interval
