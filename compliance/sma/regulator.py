"""The SMA behind the :class:`~compliance.regulator.Regulator` protocol: its settings and its
part of a worker pass (:class:`~compliance.sma.sender.SmaSender`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from central.db import Connection, Database
from central.settings import Settings
from compliance.settings import ComplianceSettings
from compliance.sma import NAME
from compliance.sma.sender import SmaSender
from compliance.sma.settings import SmaConfigIn, SmaPointConfig
from compliance.transport import HttpTransport
from protocols.clock import Clock

EXAMPLES = {"flow": {"summary": "Report flow every hour", "value": {
    "mode": "shadow", "uf_id": "UF-1234", "proceso_id": "PR-77", "dispositivo_id": "DISP-01",
    "parameters": [{"variable": "flow", "nombre": "Caudal", "unidad": "L/s", "decimals": 2}],
    "cadence_minutes": 60, "usuario": "operador@example.cl", "password": "clave-sma",
    "timestamp_utc_offset_hours": -4}}}


class Sma:
    """The SMA's online reporting (Res. Exenta SMA N° 254/2020), one configuration per point."""

    name = NAME
    title = "SMA"
    subject = "point"
    config_model: type[BaseModel] = SmaPointConfig
    config_in: type[BaseModel] = SmaConfigIn
    secret_field = "password"
    identity_field = "usuario"
    examples: dict[str, Any] | None = EXAMPLES
    resends_in_flight = False  # the SMA has no documented duplicate answer: a person decides

    def check_configurable(self, change: BaseModel, settings: Settings) -> None:
        """Any SMA configuration can be stored."""

    def check_fits_point(self, config: SmaPointConfig, point: dict[str, Any]) -> None:
        """An SMA configuration suits any kind of point."""

    def check_correction(self, conn: Connection, row: dict[str, Any], values: dict[str, str]) -> None:
        """Corrected values are declared as given (the payload is rebuilt from the ledger's values)."""

    def reporting(self, db: Database, clock: Clock, settings: Settings, compliance: ComplianceSettings,
                  transport: HttpTransport) -> SmaSender:
        return SmaSender(db, clock, compliance, transport)


SMA = Sma()
