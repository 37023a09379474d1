"""systemd's notify protocol: READY, WATCHDOG, STOPPING over ``$NOTIFY_SOCKET``.

The watchdog is fed only after a completed poll cycle (field-notes item 8): an agent whose
polling silently stopped gets restarted by systemd instead of looking alive. When the
variable is unset (a shell, a container without systemd) every call does nothing.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)


class Notifier:
    """Sends state lines to the service manager, if there is one."""

    def __init__(self, address: str | None = None) -> None:
        address = address if address is not None else os.environ.get("NOTIFY_SOCKET")
        self.address = "\0" + address[1:] if address and address.startswith("@") else address

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    @staticmethod
    def watchdog_s() -> float | None:
        """The service's WatchdogSec, if systemd set one (``$WATCHDOG_USEC``)."""
        usec = os.environ.get("WATCHDOG_USEC", "")
        return int(usec) / 1e6 if usec.isdigit() else None

    def ready(self) -> None:
        self._send("READY=1")

    def watchdog(self) -> None:
        self._send("WATCHDOG=1")

    def stopping(self) -> None:
        self._send("STOPPING=1")

    def status(self, text: str) -> None:
        self._send(f"STATUS={text}")

    def _send(self, message: str) -> None:
        if not self.address:
            return
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(message.encode(), self.address)
        except OSError as exc:  # a missing manager must not stop polling
            log.warning("sd_notify %s failed: %s", message, exc)
