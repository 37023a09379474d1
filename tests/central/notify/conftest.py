"""Fixtures for notification tests: a real SMTP server and a real HTTP receiver (see :mod:`.support`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from aiohttp import web

from tests.central.notify.support import Receiver, SmtpServer, answering


@pytest.fixture
def smtp_server(port: int) -> Iterator[SmtpServer]:
    """Not started: call ``start()`` (tests of an outage start it late)."""
    server = SmtpServer(port)
    yield server
    server.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    state = Receiver()
    async with answering(state.handle) as url:
        state.base_url = url
        try:
            yield state
        finally:
            state.released.set()
