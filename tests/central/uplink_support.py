"""The edge's uploader and agent pointed at the served central app, for the uplink tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from edge.buffer import Buffer, PolledReading
from edge.config import SiteConfig
from edge.uploader import Uploader
from protocols.clock import ManualClock
from tests.central.telemetry_support import GATEWAY_TOKEN
from tests.edge.sites import device, site, tcp_bus


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


def gw_norte_site(tmp_path: Path, bus_port: int, central_url: str, **gateway: Any) -> SiteConfig:
    """gw-norte's site in ``tmp_path``, token file written: meter 1 of the simulator's TCP bus at
    ``bus_port`` polled every minute as pozo-1 (point P1), uploaded to ``central_url``
    (``gateway``: further gateway settings, e.g. ``config_source``)."""
    (tmp_path / "token").write_text(GATEWAY_TOKEN)
    return site(
        tmp_path,
        [tcp_bus(bus_port)],
        [device("pozo-1", 1, point="P1", interval_s=60)],
        id="gw-norte",
        central_url=central_url,
        **gateway,
    )
