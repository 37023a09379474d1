"""sd_notify over a real datagram socket (path and abstract-namespace addresses)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from edge.systemd import Notifier


@pytest.mark.parametrize("abstract", [False, True], ids=["path", "abstract"])
def test_state_lines_reach_the_notify_socket(tmp_path: Path, abstract: bool) -> None:
    name = f"@caudal-test-{os.getpid()}" if abstract else str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name[1:] if abstract else name)
        notifier = Notifier(name)
        notifier.ready()
        notifier.watchdog()
        notifier.status("polling 3 devices")
        notifier.stopping()
        sock.settimeout(1)
        assert [sock.recv(256).decode() for _ in range(4)] == [
            "READY=1",
            "WATCHDOG=1",
            "STATUS=polling 3 devices",
            "STOPPING=1",
        ]


def test_without_a_notify_socket_nothing_is_sent_and_nothing_fails() -> None:
    notifier = Notifier("")
    notifier.ready()
    notifier.watchdog()
    assert not notifier.enabled


def test_a_vanished_manager_does_not_stop_the_agent(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    notifier = Notifier(str(tmp_path / "gone.sock"))
    notifier.watchdog()
    assert [r.getMessage() for r in caplog.records] == ["sd_notify WATCHDOG=1 falló: No such file or directory"]
