"""The DGA behind the :class:`~compliance.regulator.Regulator` protocol: its settings, the
checks a configuration or a correction must pass, and its part of a worker pass (late
readings, due slots, sends and GET checks)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from central.db import Connection, Database
from central.problems import Conflict, Invalid
from central.settings import Settings
from central.telemetry.rollup import StaleHours
from compliance import messages_es as es
from compliance.config_store import StoredConfig, stored_settings
from compliance.dga import NAME
from compliance.dga.config import DgaConfigIn, DgaWorkConfig
from compliance.dga.evaluate import create_due, effective_values, recheck_gaps, slots_reading
from compliance.dga.format import FormatError, build_measurement
from compliance.dga.send import DgaSender
from compliance.mode import Mode
from compliance.regulator import RegulatorBase, ReportingBase
from compliance.settings import ComplianceSettings, rut_empresa
from compliance.transport import HttpTransport
from compliance.worker_actions import Action
from protocols.clock import Clock


class DgaReporting(ReportingBase):
    """The DGA's part of a pass: its slots (:mod:`.evaluate`) and its sends and GET checks (:mod:`.send`)."""

    name = NAME

    def __init__(self, db: Database, clock: Clock, compliance: ComplianceSettings, sender: DgaSender) -> None:
        super().__init__(db, clock, compliance)
        self.sender = sender

    def create_due(self, conn: Connection, stored: StoredConfig, now: datetime) -> list[Action]:
        return create_due(conn, stored, now, self.settings)

    def shadow_all(self, conn: Connection, stored: StoredConfig, now: datetime) -> list[Action]:
        return self.sender.shadow_all(conn, stored, now)

    async def send_live(self, stored: StoredConfig) -> list[Action]:
        return await self.sender.send_live(stored)

    def first_slot(self, stored: StoredConfig) -> datetime:
        return stored.config.valid_from

    def slots_reading(self, stored: StoredConfig, run: StaleHours) -> list[datetime]:
        return slots_reading(stored.config, run)

    def recheck(
        self, conn: Connection, stored: StoredConfig, rows: Sequence[dict[str, Any]], now: datetime
    ) -> list[Action]:
        return recheck_gaps(conn, stored, rows, now)

    async def resolve_orphans(self, works: dict[int, StoredConfig]) -> list[Action]:
        return await self.sender.resolve_orphans(works)

    async def close(self) -> None:
        await self.sender.close()


class Dga(RegulatorBase):
    """The DGA's MEE web service (Res. DGA 2.170/2025), one configuration per work (obra)."""

    name = NAME
    title = "DGA"
    spoken = "la DGA"
    subject = "work"
    config_model: type[BaseModel] = DgaWorkConfig
    config_in: type[BaseModel] = DgaConfigIn
    secret_field = "informant_password"
    identity_field = "informant_rut"
    resends_in_flight = True  # the DGA answers a duplicate with "Ya existe ... Comprobante: X"

    def check_configurable(self, change: BaseModel, settings: Settings) -> None:
        if isinstance(change, DgaConfigIn) and change.mode is not Mode.OFF and rut_empresa(settings) is None:
            raise Conflict(es.rut_empresa_missing(), code="rut_empresa_missing")

    def check_fits_point(self, config: DgaWorkConfig, point: dict[str, Any]) -> None:
        if point["kind"] not in ("other", config.work_type.value):
            raise Invalid(
                es.kind_mismatch(config.work_type.value, point["code"], point["kind"]),
                details=[{"loc": ["body", "work_type"], "msg": "no corresponde al punto"}],
            )

    def check_correction(self, conn: Connection, row: dict[str, Any], values: dict[str, str]) -> None:
        """A negative flow, say, cannot be approved as it is: it is corrected or discarded."""
        stored = stored_settings(conn, row["point_id"], self)
        if stored is None:
            return
        config: DgaWorkConfig = stored[0]
        corrected = effective_values({**row, "corrected_values": json.dumps(values)})
        try:
            build_measurement(config.work_type, config.standard, config.mining_waters, row["slot"], corrected)
        except FormatError as exc:
            raise Invalid(es.unformattable(exc), details=[{"loc": ["body", "values"], "msg": str(exc)}]) from None

    def reporting(
        self, db: Database, clock: Clock, settings: Settings, compliance: ComplianceSettings, transport: HttpTransport
    ) -> DgaReporting:
        return DgaReporting(db, clock, compliance, DgaSender(db, clock, rut_empresa(settings), compliance, transport))


DGA = Dga()
