"""A virtual null-modem cable: two pseudo-terminals whose bytes are copied to each other.

The simulator opens one end as its RS-485 port, the agent (or a test) opens the other, and
both see a real serial device node (termios, pyserial, RTU framing), with no hardware. Pure
Python: each pty's own slave descriptor is held open for the life of the pair, so the master
never reports end-of-file while the far end is closed and reopened.

The cable copies every chunk by default; ``crosses`` lets a caller model a pickier line (the
commissioning tests drop bytes whose two ends use different line settings, as a real device
would not understand them).
"""

from __future__ import annotations

import asyncio
import os
import tty
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager


class Pty:
    """One pseudo-terminal: the master we copy through, the slave path a program opens."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)

    def close(self) -> None:
        os.close(self.master)
        os.close(self.slave)


Crosses = Callable[[Pty, Pty], bool]
"""Whether a chunk read from the first end reaches the second, asked for every chunk."""


def always(source: Pty, target: Pty) -> bool:
    """A plain cable: every chunk crosses."""
    return True


def _copy(source: Pty, target: Pty, crosses: Crosses) -> None:
    try:
        data = os.read(source.master, 4096)
    except OSError:
        return
    if not crosses(source, target):
        return
    try:
        os.write(target.master, data)
    except BlockingIOError:
        return  # the far end's input queue is full: drop, as a line with no listener would


@asynccontextmanager
async def open_pty_pair(crosses: Crosses = always) -> AsyncIterator[tuple[str, str]]:
    """Yield ``(server_port_path, client_port_path)``, two device nodes wired to each other."""
    loop = asyncio.get_running_loop()
    async with AsyncExitStack() as stack:
        server = Pty()
        stack.callback(server.close)
        client = Pty()
        stack.callback(client.close)
        loop.add_reader(server.master, _copy, server, client, crosses)
        stack.callback(loop.remove_reader, server.master)
        loop.add_reader(client.master, _copy, client, server, crosses)
        stack.callback(loop.remove_reader, client.master)
        yield server.path, client.path
