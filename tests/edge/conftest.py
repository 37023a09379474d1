"""The uploader tests' ingest stand-in: a real aiohttp server on 127.0.0.1 on the test's clock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from protocols.clock import ManualClock
from tests.edge.uplink_server import GATEWAY_TOKEN, UplinkServer


@pytest.fixture
async def server(clock: ManualClock) -> AsyncIterator[UplinkServer]:
    async with UplinkServer(token=GATEWAY_TOKEN, clock=clock) as running:
        yield running
