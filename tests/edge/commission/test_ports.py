""" "no se puede abrir /dev/...": the reason a technician acts on, found under real OS conditions.

A missing path, a port another opener holds with pyserial's exclusive lock (what the agent
does), and a port the user may not open. Root bypasses file modes, so as root the permission
case runs in a forked child that drops to ``nobody``; otherwise the pty is made unreadable to
its owner. Either way the OS itself refuses the open.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import serial
import typer
from typer.testing import CliRunner

from edge.commission.cli import register
from edge.modbus import BUSY, port_problem
from tests.edge.commission.serial_line import rs485_line
from tests.ports import free_port

NOBODY = 65534
MISSING = "no existe (¿adaptador desconectado o ruta equivocada? vea ls /dev/serial/by-id/)"
DENIED = "permiso denegado (agregue el usuario al grupo dialout: sudo adduser $USER dialout, y vuelva a entrar)"
UNPLUGGED = "el dispositivo no responde (¿adaptador desconectado?)"


@pytest.mark.parametrize(
    ("code", "detail", "expected"),
    [
        (errno.ENOENT, "[Errno 2] No such file", MISSING),
        (errno.EACCES, "[Errno 13] Permission denied", DENIED),
        (errno.EPERM, "[Errno 1] Operation not permitted", DENIED),
        (errno.EAGAIN, "Could not exclusively lock port", BUSY),
        (errno.EBUSY, "[Errno 16] Device or resource busy", BUSY),
        (errno.ENXIO, "[Errno 6] No such device or address", UNPLUGGED),
        (errno.EIO, "[Errno 5] Input/output error", UNPLUGGED),
        (None, "Could not configure port: (25, 'Inappropriate ioctl for device')", "no es un puerto serie"),
        (errno.ELOOP, "[Errno 40] Too many levels of symbolic links", "[Errno 40] Too many levels of symbolic links"),
        (None, "something new", "something new"),
    ],
)
def test_each_open_failure_names_what_to_do(code: int | None, detail: str, expected: str) -> None:
    assert port_problem(code, detail) == expected


def read_port(path: str) -> tuple[int, str]:
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["read", "--port", path, "--timeout", "0.1", "0", "1"])
    return result.exit_code, " ".join(result.stderr.split())


@contextmanager
def pty_port() -> Iterator[str]:
    master, slave = os.openpty()
    try:
        yield os.ttyname(slave)
    finally:
        os.close(master)
        os.close(slave)


def test_a_missing_port_says_it_does_not_exist(tmp_path) -> None:
    path = str(tmp_path / "ttyUSB9")
    assert read_port(path) == (2, f"error: no se puede abrir {path}: {MISSING}")


def test_a_port_held_by_another_opener_says_busy() -> None:
    with pty_port() as path, serial.Serial(path, exclusive=True):
        assert read_port(path) == (2, f"error: no se puede abrir {path}: {BUSY}")


def unprivileged(call: Callable[[], tuple[int, str]], path: str) -> tuple[int, str]:
    """``call()`` by a user the OS refuses ``path`` to: ``nobody`` in a forked child when we are
    root (root ignores file modes), else ourselves after taking our own permissions away."""
    if os.geteuid() != 0:
        os.chmod(path, 0)
        return call()
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            os.write(writer, json.dumps(call()).encode())
        finally:
            os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as answer:
        text = answer.read()
    os.waitpid(child, 0)
    code, message = json.loads(text)
    return code, message


def test_a_port_the_user_may_not_open_says_permission_and_dialout() -> None:
    with pty_port() as path:
        assert unprivileged(lambda: read_port(path), path) == (2, f"error: no se puede abrir {path}: {DENIED}")


async def test_scan_skips_a_busy_line_with_the_reason(invoke) -> None:
    async with rs485_line() as (_, master_side):
        with serial.Serial(master_side, exclusive=True):
            result = await invoke("scan", "--port", master_side, "--baud", "9600", "--parity", "N", "--units", "1")
    assert result.exit_code == 2
    assert " ".join(result.stderr.split()) == f"error: no se puede abrir {master_side}: {BUSY}"


async def test_a_tcp_endpoint_that_refuses_says_what_to_check(invoke) -> None:
    closed = free_port()
    result = await invoke("read", "--host", "127.0.0.1", "--tcp-port", str(closed), "--timeout", "0.5", "0", "1")
    assert result.exit_code == 2
    assert " ".join(result.stderr.split()) == (
        f"error: no se puede abrir 127.0.0.1:{closed}: sin conexión (¿está encendido el equipo y son correctos host y puerto?)"
    )
