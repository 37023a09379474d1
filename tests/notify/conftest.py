"""Fixtures for notification tests: a real SMTP server and a real HTTP receiver (see :mod:`.support`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from aiohttp import web

from tests.alerts.db_support import migrated_template, pg_url, smtp, smtp_port, world, world_client
from tests.notify.support import Receiver, SmtpServer


@pytest.fixture
def smtp_server(port: int) -> Iterator[SmtpServer]:
    """Not started: call ``start()`` (tests of an outage start it late)."""
    server = SmtpServer(port)
    yield server
    server.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    state = Receiver()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", state.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    state.base_url = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        state.released.set()
        await runner.cleanup()
