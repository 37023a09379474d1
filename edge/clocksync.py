"""Is the system clock synchronised? (docs/meters.md §9: gateways without an RTC boot in 1970.)

Asked of the kernel with ``adjtimex(2)`` (what ``timedatectl`` reports as "System clock
synchronized"): NTP daemons (systemd-timesyncd, chrony, ntpd) clear ``STA_UNSYNC`` once they
have disciplined the clock. No daemon, no sync: readings are then flagged ``clock_unsynced``
instead of being stamped with a time nobody can trust.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

STA_UNSYNC = 0x0040
TIME_ERROR = 5


class _Timex(ctypes.Structure):
    """The head of ``struct timex``; the padding covers the rest of the kernel's layout."""

    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("_rest", ctypes.c_byte * 512),
    ]


@functools.cache
def _adjtimex() -> Callable[..., int] | None:
    """libc's ``adjtimex``, looked up once: ``find_library`` runs ``ldconfig``, too slow for each tick."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True).adjtimex
    except (OSError, AttributeError, TypeError):
        return None


def kernel_clock_synced() -> bool:
    """True when the kernel says an NTP source disciplines the clock; True too if it cannot be asked.

    Not being able to ask (not Linux) is not evidence of a wrong clock, so readings are not
    flagged for it; the server still sees the gateway's offset from ``sent_at``.
    """
    adjtimex = _adjtimex()
    if adjtimex is None:
        return True
    timex = _Timex()
    state = adjtimex(ctypes.byref(timex))
    if state < 0:
        log.warning("adjtimex falló (errno %d); se supone que el reloj está sincronizado", ctypes.get_errno())
        return True
    return state != TIME_ERROR and not timex.status & STA_UNSYNC
