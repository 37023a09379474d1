"""The DGA behind the :class:`~compliance.regulator.Regulator` protocol: its settings, the
checks a configuration or a correction must pass, and its part of a worker pass (late
readings, due slots, sends and GET checks)."""

from __future__ import annotations

import json
import logging
from typing import Any

from pydantic import BaseModel

from central.db import Connection, Database, DatabaseUnavailable
from central.errors import ApiError
from central.settings import Settings
from compliance.actions import Action
from compliance.config_store import StoredConfig, stored_settings
from compliance.dga import NAME
from compliance.dga.evaluate import (
    CHANGES_PER_TAKE,
    create_due,
    effective_values,
    recheck_arrivals,
)
from compliance.dga.format import FormatError, build_measurement
from compliance.dga.send import DgaSender
from compliance.dga.settings import DgaConfigIn, DgaWorkConfig
from compliance.ledger_store import in_transaction
from compliance.mode import Mode
from compliance.settings import ComplianceSettings, rut_empresa
from compliance.transport import HttpTransport
from protocols.clock import Clock

log = logging.getLogger("caudal.compliance")


class DgaReporting:
    """The DGA's part of a pass: sends left in flight, gaps late readings fill, then each work."""

    def __init__(self, db: Database, clock: Clock, compliance: ComplianceSettings, sender: DgaSender) -> None:
        self.db, self.clock, self.settings, self.sender = db, clock, compliance, sender

    async def resolve_orphans(self, works: dict[int, StoredConfig]) -> list[Action]:
        return await self.sender.resolve_orphans(works)

    async def catch_up(self, works: dict[int, StoredConfig]) -> list[Action]:
        """Gaps of shadow and live works that late readings fill, until telemetry has no more
        changed hours to hand over (those of other points are dropped)."""
        actions: list[Action] = []
        try:
            while True:
                taken, found = await in_transaction(self.db, recheck_arrivals, works, self.clock.now(), self.settings)
                actions += found
                if taken < CHANGES_PER_TAKE:
                    return actions
        except DatabaseUnavailable:  # the pass stops; the loop logs the outage once
            raise
        except Exception:  # the hours stay recorded for the next pass; sending must not stop meanwhile
            log.exception("evaluating late readings failed; tried again on the next pass")
            return actions

    async def process(self, stored: StoredConfig) -> list[Action]:
        actions = await in_transaction(self.db, create_due, stored, self.clock.now(), self.settings)
        return actions + await self.sender.dispatch(stored)

    async def close(self) -> None:
        await self.sender.close()


class Dga:
    """The DGA's MEE web service (Res. DGA 2.170/2025), one configuration per work (obra)."""

    name = NAME
    title = "DGA"
    subject = "work"
    config_model: type[BaseModel] = DgaWorkConfig
    config_in: type[BaseModel] = DgaConfigIn
    secret_field = "informant_password"
    identity_field = "informant_rut"
    examples: dict[str, Any] | None = None  # DgaConfigIn carries its own
    resends_in_flight = True  # the DGA answers a duplicate with "Ya existe ... Comprobante: X"

    def check_configurable(self, change: BaseModel, settings: Settings) -> None:
        if isinstance(change, DgaConfigIn) and change.mode is not Mode.OFF and rut_empresa(settings) is None:
            raise ApiError(409, "CAUDAL_DGA_RUT_EMPRESA (the Centro de Control's RUT) is not set on the server;"
                           " a DGA work can only be configured in mode off", code="rut_empresa_missing")

    def check_fits_point(self, config: DgaWorkConfig, point: dict[str, Any]) -> None:
        if point["kind"] not in ("other", config.work_type.value):
            raise ApiError(422, f"work_type: {config.work_type.value} does not match point {point['code']} of kind "
                           f"{point['kind']}",
                           details=[{"loc": ["body", "work_type"], "msg": "does not match the point"}])

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
            raise ApiError(422, f"values: {exc}", details=[{"loc": ["body", "values"], "msg": str(exc)}]) from None

    def reporting(self, db: Database, clock: Clock, settings: Settings, compliance: ComplianceSettings,
                  transport: HttpTransport) -> DgaReporting:
        return DgaReporting(db, clock, compliance, DgaSender(db, clock, rut_empresa(settings), compliance, transport))


DGA = Dga()
