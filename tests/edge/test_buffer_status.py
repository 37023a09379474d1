"""``caudal edge status`` run by a technician who is not root (issue 14), on the package's layout.

The agent's folder and files belong to its group and are group-readable (the unit's
``UMask=0027``); the test builds that layout with a real group and real system users
(``groupadd``/``useradd``) and runs the real ``status`` command in a child process that has
dropped to the technician's user and groups (forked, so it needs no interpreter the
technician may execute). A member reads status while the agent runs and after it stopped;
anyone else gets one line saying what to do, never a traceback.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from edge.buffer import Buffer, PolledReading
from edge.bufferread import BufferUnreadable
from edge.cli import app
from edge.state import AgentState, state_path, status_report, write_state
from protocols.uplink import Quality

T0 = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)
AGENT_UMASK = 0o027  # systemd/caudal-edge.service


@dataclass(frozen=True)
class Accounts:
    group: str
    member: str
    outsider: str


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True)


@pytest.fixture(scope="module")
def accounts() -> Iterator[Accounts]:
    """A group like the package's ``caudal`` and two system users, one in it; removed afterwards."""
    if os.geteuid() != 0 or not shutil.which("useradd"):
        reason = "creating system users needs root and useradd"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must run the non-root status tests", pytrace=False)
        pytest.skip(reason)
    suffix = uuid.uuid4().hex[:6]
    made = Accounts(f"cdlg{suffix}", f"cdlm{suffix}", f"cdlo{suffix}")
    _run("groupadd", "--system", made.group)
    try:
        _run("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "-G", made.group, made.member)
        _run("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", made.outsider)
        yield made
    finally:
        for user in (made.member, made.outsider):
            subprocess.run(["userdel", user], check=False, capture_output=True)
        subprocess.run(["groupdel", made.group], check=False, capture_output=True)


@contextmanager
def agent_umask() -> Iterator[None]:
    previous = os.umask(AGENT_UMASK)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.fixture
def gateway(accounts: Accounts) -> Iterator[Path]:
    """``/var/lib/caudal`` and ``/etc/caudal`` as the package leaves them, under a world-traversable folder."""
    with tempfile.TemporaryDirectory(prefix="caudal-status-") as top:
        root = Path(top)
        root.chmod(0o755)
        state_dir = root / "lib"
        state_dir.mkdir(mode=0o750)
        shutil.chown(state_dir, group=accounts.group)
        state_dir.chmod(0o2750)  # the agent's files take the folder's group, as the service user's do
        (root / "token").write_text("a-token")
        (root / "site.yaml").write_text(
            yaml.safe_dump(
                {
                    "gateway": {
                        "id": "gw-test-01",
                        "central_url": "http://127.0.0.1:9",
                        "token_file": str(root / "token"),
                        "buffer_path": str(state_dir / "buffer.db"),
                    },
                    "buses": [{"name": "plc", "type": "tcp", "host": "127.0.0.1", "port": 1502}],
                    "devices": [
                        {
                            "name": "pozo-1",
                            "bus": "plc",
                            "unit_id": 1,
                            "point": "OB-0601-444",
                            "profile": "siemens-mag6000",
                            "interval_s": 60,
                        }
                    ],
                }
            )
        )
        (root / "site.yaml").chmod(0o644)
        yield root


def run_status_as(user: str, site: Path) -> tuple[int, str, str]:
    """``caudal edge status -c site`` in a forked child running as ``user`` with its groups."""
    CliRunner().invoke(app, ["status", "-c", str(site)])  # imports everything while root may still read it
    entry = pwd.getpwnam(user)
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 70
        try:
            sys.stdout, sys.stderr = os.fdopen(out_write, "w"), os.fdopen(err_write, "w")  # not pytest's capture
            os.initgroups(user, entry.pw_gid)
            os.setgid(entry.pw_gid)
            os.setuid(entry.pw_uid)
            app(["status", "-c", str(site)], prog_name="caudal edge")
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    os.close(out_write)
    os.close(err_write)
    with os.fdopen(out_read) as out, os.fdopen(err_read) as err:
        stdout, stderr = out.read(), err.read()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), stdout, stderr


@contextmanager
def agent_running(gateway: Path) -> Iterator[Path]:
    """The agent's buffer, made under its umask with two readings and held open as the running
    agent holds it; yields its path. Leaving the block is the agent's clean stop."""
    buffer_path = gateway / "lib" / "buffer.db"
    with agent_umask(), Buffer.open(buffer_path) as buffer:
        buffer.append(
            [
                PolledReading("pozo-1", "OB-0601-444", variable, T0, 12.5, "L/s", Quality.GOOD)
                for variable in ("flow", "totalizer")
            ]
        )
        yield buffer_path


def publish_state(buffer_path: Path) -> None:
    write_state(state_path(buffer_path), AgentState(pid=os.getpid(), started_at=T0, updated_at=T0, cycles=3))


RUNNING = [
    "agente pid {pid} (corriendo), inició 2026-11-28T13:00:00Z, 3 ciclos, reloj sincronizado",
    "subida: 0 lecturas subidas, última subida -, error -",
    "ciclos atrasados: -",
    "equipo  bus  ok  timeouts  errores  decode  último ok  espera hasta  último error",
]


def test_a_member_of_the_group_reads_status_while_the_agent_runs(gateway: Path, accounts: Accounts):
    with agent_running(gateway) as buffer_path:
        publish_state(buffer_path)
        code, stdout, stderr = run_status_as(accounts.member, gateway / "site.yaml")
    assert (code, stderr) == (0, "")
    assert stdout.splitlines() == [
        f"buffer {buffer_path}: 2 pendientes, más antigua 2026-11-28T13:00:00Z, perdidas 0, apartadas 0, 0.0 MB",
        *(line.format(pid=os.getpid()) for line in RUNNING),
    ]


def test_a_member_of_the_group_reads_status_after_the_agent_stopped(gateway: Path, accounts: Accounts):
    """A clean stop deletes the WAL; a reader that may not create one reads the whole file as it is."""
    with agent_running(gateway) as buffer_path:
        pass  # the agent stops cleanly before the member looks
    code, stdout, stderr = run_status_as(accounts.member, gateway / "site.yaml")
    assert (code, stdout.splitlines(), stderr) == (
        0,
        [
            f"buffer {buffer_path}: 2 pendientes, más antigua 2026-11-28T13:00:00Z, perdidas 0, apartadas 0, 0.0 MB",
            "agente: sin archivo de estado (no corre, o nunca corrió con este buffer)",
        ],
        "",
    )


def test_someone_outside_the_group_is_told_to_join_it_in_one_line(gateway: Path, accounts: Accounts):
    with agent_running(gateway) as buffer_path:
        code, stdout, stderr = run_status_as(accounts.outsider, gateway / "site.yaml")
    assert (code, stdout) == (1, "")
    assert stderr == (
        f"error: no se puede leer {buffer_path}: permiso denegado; los miembros del grupo {accounts.group}"
        f" pueden leer el buffer (sudo adduser $USER {accounts.group}, y vuelva a entrar), o use sudo\n"
    )


def test_a_state_file_the_member_may_not_read_is_one_line_too(gateway: Path, accounts: Accounts):
    """A state file left by an older agent (0600)."""
    with agent_running(gateway) as buffer_path:
        publish_state(buffer_path)
        state_path(buffer_path).chmod(0o600)
        code, stdout, stderr = run_status_as(accounts.member, gateway / "site.yaml")
    assert (code, stdout) == (1, "")
    assert stderr == (
        f"error: no se puede leer {state_path(buffer_path)}: permiso denegado; los miembros del grupo"
        f" {accounts.group} pueden leer el buffer (sudo adduser $USER {accounts.group}, y vuelva a"
        " entrar), o use sudo\n"
    )


def test_the_state_file_is_readable_by_the_agents_group(gateway: Path):
    buffer_path = gateway / "lib" / "buffer.db"
    with agent_umask():
        publish_state(buffer_path)
    assert oct(state_path(buffer_path).stat().st_mode & 0o777) == oct(0o640)
    assert grp.getgrgid(state_path(buffer_path).stat().st_gid).gr_gid == (gateway / "lib").stat().st_gid


def test_a_damaged_state_file_is_one_line_saying_to_run_again(tmp_path: Path):
    buffer_path = tmp_path / "buffer.db"
    with Buffer.open(buffer_path):
        state_path(buffer_path).write_text('{"pid": 1, "started_at"')  # cut short
        with pytest.raises(BufferUnreadable) as caught:
            status_report(buffer_path)
    assert str(caught.value) == (
        f"el archivo de estado del agente {state_path(buffer_path)} está dañado; el agente"
        " lo reescribe en su próximo ciclo de lectura: repita el comando"
    )
