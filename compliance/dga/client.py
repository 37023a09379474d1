"""The DGA client: MEE sends and comprobante checks over the shared transport
(:mod:`compliance.transport`, which turns network trouble into replies and paces requests)."""

from __future__ import annotations

from typing import Unpack

from compliance.dga.config import WorkType
from compliance.dga.format import DgaRequest
from compliance.transport import RawReply, RegulatorClient, TransportOptions
from protocols.clock import Clock


class DgaClient(RegulatorClient):
    """Sends MEE requests and checks comprobantes against one base URL."""

    def __init__(self, base_url: str, clock: Clock, **options: Unpack[TransportOptions]) -> None:
        super().__init__(clock, **options)
        self.base_url = base_url.rstrip("/")

    async def send(self, request: DgaRequest) -> RawReply:
        """POST one measurement exactly as built."""
        return await self._transport.request(
            request.method, self.base_url + request.path, headers=request.headers, data=request.json_bytes()
        )

    async def check(self, work_type: WorkType, codigo_obra: str, comprobante: str) -> RawReply:
        """GET what the DGA stored under ``comprobante`` for the work."""
        params = {"codigoObra": codigo_obra, "numeroComprobante": comprobante}
        return await self._transport.request("GET", self.base_url + work_type.path, params=params)
