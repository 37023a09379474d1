"""An RS-485 line in software: two pseudo-terminals whose bytes cross only at matching line settings.

:func:`edge.simulator.pty.open_pty_pair` copies bytes whatever baud rate and parity each end
set, but a real device only understands a master using its own line settings. Here each end's
termios (speed, parity, stop bits, character size) is compared on every chunk: when they
differ the bytes are dropped, as garbled frames are by a real device, so a scan has to find the
right settings, not just the right unit id.
"""

from __future__ import annotations

import asyncio
import os
import termios
import tty
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

_FRAMING = termios.PARENB | termios.PARODD | termios.CSTOPB | termios.CSIZE


class _End:
    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)

    def settings(self) -> tuple[int, int, int]:
        _, _, cflag, _, ispeed, ospeed, _ = termios.tcgetattr(self.slave)
        return ispeed, ospeed, cflag & _FRAMING

    def close(self) -> None:
        os.close(self.master)
        os.close(self.slave)


def _relay(source: _End, target: _End) -> None:
    try:
        data = os.read(source.master, 4096)
    except OSError:
        return
    if source.settings() != target.settings():
        return
    try:
        os.write(target.master, data)
    except BlockingIOError:
        return


@asynccontextmanager
async def rs485_line() -> AsyncIterator[tuple[str, str]]:
    """Yield ``(device_side_path, master_side_path)``."""
    loop = asyncio.get_running_loop()
    async with AsyncExitStack() as stack:
        device, master = _End(), _End()
        stack.callback(device.close)
        stack.callback(master.close)
        loop.add_reader(device.master, _relay, device, master)
        stack.callback(loop.remove_reader, device.master)
        loop.add_reader(master.master, _relay, master, device)
        stack.callback(loop.remove_reader, master.master)
        yield device.path, master.path
