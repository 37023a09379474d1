"""The SMA behind the :class:`~compliance.regulator.Regulator` protocol: its settings and its
part of a worker pass (:class:`~compliance.sma.sender.SmaReporting`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from central.db import Database
from central.settings import Settings
from compliance.regulator import RegulatorBase
from compliance.settings import ComplianceSettings
from compliance.sma import NAME
from compliance.sma.config import SmaConfigIn, SmaPointConfig
from compliance.sma.sender import SmaReporting
from compliance.transport import HttpTransport
from protocols.clock import Clock

EXAMPLES = {
    "flow": {
        "summary": "Report flow every hour",
        "value": {
            "mode": "shadow",
            "uf_id": "UF-1234",
            "proceso_id": "PR-77",
            "dispositivo_id": "DISP-01",
            "parameters": [{"variable": "flow", "nombre": "Caudal", "unidad": "L/s", "decimals": 2}],
            "cadence_minutes": 60,
            "usuario": "operador@example.cl",
            "password": "clave-sma",
            "timestamp_utc_offset_hours": -4,
        },
    }
}


class Sma(RegulatorBase):
    """The SMA's online reporting (Res. Exenta SMA N° 254/2020), one configuration per point."""

    name = NAME
    title = "SMA"
    spoken = "la SMA"
    subject = "point"
    config_model: type[BaseModel] = SmaPointConfig
    config_in: type[BaseModel] = SmaConfigIn
    secret_field = "password"
    identity_field = "usuario"
    examples: dict[str, Any] | None = EXAMPLES
    resends_in_flight = False  # the SMA has no documented duplicate answer: a person decides

    def reporting(
        self, db: Database, clock: Clock, settings: Settings, compliance: ComplianceSettings, transport: HttpTransport
    ) -> SmaReporting:
        return SmaReporting(db, clock, compliance, transport)


SMA = Sma()
