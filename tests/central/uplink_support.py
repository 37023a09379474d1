"""The edge's uploader pointed at the served central app, for the uplink tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from edge.buffer import Buffer
from edge.uploader import Uploader
from protocols.clock import ManualClock
from tests.central.telemetry_support import GATEWAY_TOKEN


@asynccontextmanager
async def uploading(url: str, buffer: Buffer, clock: ManualClock, **options: Any) -> AsyncIterator[Uploader]:
    """gw-norte's uploader on ``buffer``, closed on the way out (``options``: e.g. a transport)."""
    uploader = Uploader(gateway="gw-norte", central_url=url, token=GATEWAY_TOKEN, buffer=buffer, clock=clock,
                        version="test", **options)
    try:
        yield uploader
    finally:
        await uploader.close()
