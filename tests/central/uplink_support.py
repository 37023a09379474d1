"""The edge's uploader pointed at the served central app, for the uplink tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from edge.buffer import Buffer, PolledReading
from edge.uploader import Uploader
from protocols.clock import ManualClock
from tests.central.telemetry_support import GATEWAY_TOKEN


@asynccontextmanager
async def uploading(
    url: str, path: Path, clock: ManualClock, readings: list[PolledReading], **options: Any
) -> AsyncIterator[tuple[Buffer, Uploader]]:
    """A buffer at ``path`` holding ``readings`` and gw-norte's uploader on it, both closed on the
    way out (``options``: e.g. a transport)."""
    with Buffer.open(path) as buffer:
        buffer.append(readings)
        uploader = Uploader(
            gateway="gw-norte",
            central_url=url,
            token=GATEWAY_TOKEN,
            buffer=buffer,
            clock=clock,
            version="test",
            **options,
        )
        try:
            yield buffer, uploader
        finally:
            await uploader.close()
