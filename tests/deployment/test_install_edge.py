"""scripts/install-edge.sh run for real, as root, in a private mount namespace: /etc, /usr,
/opt, /var and /run are overlays whose writes land in a temporary directory, so the script
installs into the real paths without changing this machine. Stand-ins on PATH replace only
what would reach outside (apt-get, adduser/addgroup, systemctl: they log their arguments)
and pip (the venv's python); ``caudal edge check`` is the real one. The package's postinst
runs the same way."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.deployment.support import ROOT
from tests.sites import FLOWMETER_POZO_1, GATEWAY_NORTE

SCRIPT = ROOT / "scripts" / "install-edge.sh"
POSTINST = ROOT / "packaging" / "debian" / "postinst"
CAUDAL = Path(sys.executable).parent / "caudal"
OVERLAID = ["etc", "usr", "opt", "var", "run"]
VALID_SITE = (
    GATEWAY_NORTE
    + """\
buses:
  - name: tcp-1
    type: tcp
    host: 127.0.0.1
    port: 502
devices:
"""
    + FLOWMETER_POZO_1
)

# Inside the namespace: a tmpfs holds each overlay's writes; the caudal user and group exist
# (as adduser would leave them); systemd counts as running; the venv exists with a python
# whose pip installs nothing and the real caudal.
SETUP = """\
set -euo pipefail
mount -t tmpfs tmpfs "$LAYERS"
for dir in {overlaid}; do
  mkdir -p "$LAYERS/$dir/upper" "$LAYERS/$dir/work"
  mount -t overlay overlay -o "lowerdir=/$dir,upperdir=$LAYERS/$dir/upper,workdir=$LAYERS/$dir/work" "/$dir"
done
getent group caudal >/dev/null || echo "caudal:x:990:" >>/etc/group
getent passwd caudal >/dev/null || echo "caudal:x:990:990::/var/lib/caudal:/usr/sbin/nologin" >>/etc/passwd
mkdir -p /run/systemd/system /opt/caudal/bin /etc/caudal
printf '#!/bin/sh\\necho "python $*" >>"$CALLS"\\n' >/opt/caudal/bin/python
printf '#!/bin/sh\\nexec "$REAL_CAUDAL" "$@"\\n' >/opt/caudal/bin/caudal
chmod 0755 /opt/caudal/bin/python /opt/caudal/bin/caudal
if [ -n "${{SITE:-}}" ]; then printf '%s' "$SITE" >/etc/caudal/site.yaml; fi
if [ -n "${{PACKAGED:-}}" ]; then cp "$PACKAGED" /etc/caudal/site.yaml; fi  # what the package unpacks
status=0
bash "$SCRIPT" "$@" || status=$?
cp /etc/caudal/site.yaml "$OUT/site.yaml"
exit "$status"
""".format(overlaid=" ".join(OVERLAID))

STAND_IN = '#!/bin/sh\necho "$(basename "$0") $*" >>"$CALLS"\n'
# systemctl also answers is-enabled: enabled when ENABLED is set (a gateway installed before).
SYSTEMCTL = STAND_IN + '[ "$1" != is-enabled ] || [ -n "$ENABLED" ]\n'


@dataclass
class Installed:
    returncode: int
    stdout: str
    stderr: str
    calls: list[str]
    site: str


def _namespaces_work() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"], capture_output=True)
    return probe.returncode == 0


needs_namespace = pytest.mark.skipif(
    not _namespaces_work() or not Path("/proc/filesystems").read_text().count("overlay"),
    reason="needs root with mount namespaces and overlayfs (unshare --mount) to run the installer without changing the machine",
)


def install(tmp_path: Path, *args: str, site: str = "", script: Path = SCRIPT, enabled: bool = False) -> Installed:
    stand_ins = tmp_path / "bin"
    stand_ins.mkdir()
    for name in ("apt-get", "adduser", "addgroup", "systemctl"):
        (stand_ins / name).write_text(SYSTEMCTL if name == "systemctl" else STAND_IN)
        (stand_ins / name).chmod(0o755)
    calls, out, layers = tmp_path / "calls", tmp_path / "out", tmp_path / "layers"
    out.mkdir()
    layers.mkdir()
    env = {
        "PATH": f"{stand_ins}:/usr/sbin:/usr/bin:/sbin:/bin",
        "LANG": "C.UTF-8",
        "HOME": str(tmp_path),
        "CALLS": str(calls),
        "OUT": str(out),
        "LAYERS": str(layers),
        "SCRIPT": str(script),
        "REAL_CAUDAL": str(CAUDAL),
        "SITE": site,
        "PACKAGED": str(ROOT / "packaging" / "site.yaml.example") if script == POSTINST else "",
        "ENABLED": "1" if enabled else "",
    }
    result = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "bash", "-c", SETUP, "setup", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    logged = calls.read_text().splitlines() if calls.exists() else []
    return Installed(result.returncode, result.stdout, result.stderr, logged, (out / "site.yaml").read_text())


@needs_namespace
def test_the_example_config_leaves_the_service_disabled_and_says_what_to_do(tmp_path: Path) -> None:
    installed = install(tmp_path)
    systemctl = [call for call in installed.calls if call.startswith("systemctl")]
    assert (installed.returncode, systemctl) == (
        0,
        ["systemctl daemon-reload", "systemctl is-enabled --quiet caudal-edge.service"],
    ), installed.stderr
    assert installed.site == (ROOT / "packaging" / "site.yaml.example").read_text()
    assert installed.stderr.endswith(
        "caudal-edge NO habilitado: /etc/caudal/site.yaml no pasa caudal edge check (vea arriba).\n"
        "Termine la puesta en marcha (caudal edge init, caudal edge check) y luego: systemctl enable --now caudal-edge\n"
    )
    assert "/etc/caudal/site.yaml:" in installed.stderr  # the check's own explanation, naming the file


@needs_namespace
def test_a_reinstall_over_a_broken_config_leaves_the_enabled_service_alone(tmp_path: Path) -> None:
    installed = install(tmp_path, enabled=True)
    systemctl = [call for call in installed.calls if call.startswith("systemctl")]
    assert (installed.returncode, systemctl) == (
        0,
        ["systemctl daemon-reload", "systemctl is-enabled --quiet caudal-edge.service"],
    ), installed.stderr
    assert installed.stderr.endswith(
        "caudal-edge NO reiniciado: /etc/caudal/site.yaml no pasa caudal edge check (vea arriba).\n"
        "Corríjalo y luego: systemctl restart caudal-edge\n"
    )


@needs_namespace
def test_a_config_that_checks_clean_gets_the_service_enabled_and_started(tmp_path: Path) -> None:
    installed = install(tmp_path, site=VALID_SITE)
    systemctl = [call for call in installed.calls if call.startswith("systemctl")]
    assert (installed.returncode, systemctl) == (
        0,
        ["systemctl daemon-reload", "systemctl enable caudal-edge.service", "systemctl restart caudal-edge.service"],
    ), installed.stderr
    assert installed.site == VALID_SITE
    assert "caudal-edge habilitado y en marcha: /etc/caudal/site.yaml pasa caudal edge check\n" in installed.stdout


@needs_namespace
def test_no_enable_installs_without_checking_or_enabling(tmp_path: Path) -> None:
    installed = install(tmp_path, "--no-enable", site=VALID_SITE)
    systemctl = [call for call in installed.calls if call.startswith("systemctl")]
    assert (installed.returncode, systemctl) == (0, ["systemctl daemon-reload"]), installed.stderr
    assert "enabled" not in installed.stdout + installed.stderr


@needs_namespace
@pytest.mark.parametrize(
    ("args", "systemctl"),
    [
        (["configure", ""], ["systemctl daemon-reload"]),
        (["configure", "0.1.0"], ["systemctl daemon-reload", "systemctl try-restart caudal-edge.service"]),
    ],
    ids=["first install", "upgrade"],
)
def test_the_package_never_enables_the_service_itself(tmp_path: Path, args: list[str], systemctl: list[str]) -> None:
    """A first install leaves the agent to the technician; an upgrade restarts it only if it runs."""
    installed = install(tmp_path, *args, script=POSTINST)
    assert (installed.returncode, [call for call in installed.calls if call.startswith("systemctl")]) == (
        0,
        systemctl,
    ), installed.stderr
