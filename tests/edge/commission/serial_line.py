"""An RS-485 line in software: two pseudo-terminals whose bytes cross only at matching line settings.

:func:`edge.simulator.pty.open_pty_pair` copies bytes whatever baud rate and parity each end
set, but a real device only understands a master using its own line settings. Here each end's
termios (speed, parity, stop bits, character size) is compared on every chunk: when they
differ the bytes are dropped, as garbled frames are by a real device, so a scan has to find the
right settings, not just the right unit id.
"""

from __future__ import annotations

import termios
from contextlib import AbstractAsyncContextManager

from edge.simulator.pty import Pty, open_pty_pair

_FRAMING = termios.PARENB | termios.PARODD | termios.CSTOPB | termios.CSIZE


def line_settings(end: Pty) -> tuple[int, int, int]:
    """The input speed, output speed and framing bits the program at ``end`` set."""
    _, _, cflag, _, ispeed, ospeed, _ = termios.tcgetattr(end.slave)
    return ispeed, ospeed, cflag & _FRAMING


def same_line_settings(source: Pty, target: Pty) -> bool:
    return line_settings(source) == line_settings(target)


def rs485_line() -> AbstractAsyncContextManager[tuple[str, str]]:
    """Yield ``(device_side_path, master_side_path)``."""
    return open_pty_pair(crosses=same_line_settings)
