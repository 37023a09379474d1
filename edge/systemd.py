"""systemd's notify protocol: READY, RELOADING, WATCHDOG, STOPPING over ``$NOTIFY_SOCKET``.

The watchdog is fed only after a completed poll cycle (docs/meters.md §6): an agent whose
polling silently stopped gets restarted by systemd instead of looking alive. A configuration
reload is bracketed by RELOADING=1 and READY=1, so ``systemctl reload`` returns once the new
configuration is in force (systemd >= 253; older managers ignore the lines). When the
variable is unset (a shell, a container without systemd) every call does nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import time

log = logging.getLogger(__name__)

UNIT_WATCHDOG_S = 300.0  # WatchdogSec of the shipped systemd/caudal-edge.service (a test keeps them equal)


def watchdog_warning(shortest_interval_s: float, watchdog_s: float | None) -> str | None:
    """The watchdog is fed per completed cycle: a poll interval not below WatchdogSec means restarts."""
    if watchdog_s is None or shortest_interval_s < watchdog_s:
        return None
    return (
        f"el intervalo de lectura más corto ({shortest_interval_s:g} s) no es menor que WatchdogSec de systemd "
        f"({watchdog_s:g} s): systemd reiniciará el agente entre ciclos; baje interval_s o suba WatchdogSec"
    )


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

    def reloading(self) -> None:
        """A reload begins. systemd wants CLOCK_MONOTONIC with it (not our Clock: its own time
        base) to tell this reload from an older one."""
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        self._send(f"RELOADING=1\nMONOTONIC_USEC={usec}")

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
            log.warning("sd_notify %s falló: %s", message, exc.strerror or exc)
