"""The compliance worker: one pass evaluates due slots and sends what the ledger allows.

A pass, in order, over the registered regulators (:mod:`compliance.registry`): each resolves
the sends a stopped worker left in flight (never a blind resend); then the slots whose
readings arrived late are evaluated again (the hours telemetry recorded as changed, taken once
for every regulator: :mod:`compliance.late_data`); then, for
every work in shadow or live mode, one regulator after the other, the work's due slots are
created and dispatched (shadow: build and log; live: send, paced, under the regulator's
rules). The service runs passes on a timer (:meth:`ComplianceWorker.run`); ``caudal
compliance run-once`` runs one and exits. Coordination between replicas is in the database
(work leases, slot claims).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from central.crypto import SecretBox
from central.db import Connection, Database, DatabaseUnavailable
from central.settings import Settings
from central.workers import every
from compliance.config_store import StoredConfig, load_configs
from compliance.facts import settle
from compliance.late_data import catch_up
from compliance.ledger_store import in_transaction
from compliance.registry import REGULATORS
from compliance.regulator import Reporting
from compliance.settings import ComplianceSettings
from compliance.transport import HttpTransport
from compliance.worker_actions import Action
from protocols.clock import Clock

log = logging.getLogger("caudal.compliance")

Works = dict[str, dict[int, StoredConfig]]  # regulator name -> point id -> configuration


class ComplianceWorker:
    """Owns the regulator HTTP transports (one per regulator: pacing is per service) and each
    regulator's reporting."""

    def __init__(
        self, db: Database, clock: Clock, box: SecretBox, settings: Settings, compliance: ComplianceSettings
    ) -> None:
        self.db, self.clock, self.box, self.settings = db, clock, box, compliance
        self._transports = {
            name: HttpTransport(clock, timeout_s=compliance.timeout_s, min_interval_s=compliance.min_interval_s)
            for name in REGULATORS
        }
        self.reporting: dict[str, Reporting] = {
            name: regulator.reporting(db, clock, settings, compliance, self._transports[name])
            for name, regulator in REGULATORS.items()
        }

    async def _configs(self) -> Works:
        def load(conn: Connection) -> Works:
            works: Works = {}
            for name, regulator in REGULATORS.items():
                loaded, problems = load_configs(conn, self.box, regulator)
                for problem in problems:
                    log.error("%s", problem)
                works[name] = {stored.point_id: stored for stored in loaded}
            return works

        return await in_transaction(self.db, load)

    async def run_pass(self) -> list[Action]:
        """One pass over every configured point; returns what it did."""
        works = await self._configs()
        await in_transaction(self.db, settle, self.clock.now())  # facts whose condition ended without a change here
        actions: list[Action] = []
        for name, reporting in self.reporting.items():
            actions += await reporting.resolve_orphans(works[name])
        actions += await catch_up(self.db, self.clock, self.reporting, works)
        for name, reporting in self.reporting.items():
            for stored in works[name].values():
                actions += await self._guarded(name, stored, reporting.process(stored))
        return actions

    async def _guarded(self, regulator: str, stored: StoredConfig, work: Awaitable[list[Action]]) -> list[Action]:
        """One point's trouble (a database error, a bug) must not stop the others."""
        try:
            return await work
        except DatabaseUnavailable:  # every point would fail alike: the pass stops, the loop logs the outage once
            raise
        except Exception as exc:  # logged with its traceback and reported; the next point goes on
            log.exception("falló el reporte a los reguladores del punto %s", stored.point_code)
            return [Action(stored.point_code, regulator, self.clock.now(), "error", "", f"{type(exc).__name__}: {exc}")]

    async def run(self, stop: asyncio.Event) -> None:
        """Passes every ``interval_s`` until ``stop`` is set; then the transports are closed."""
        try:
            await every(self.clock, stop, self.settings.interval_s, self._logged_pass, log, "pasada de reportes")
        finally:
            await self.close()

    async def _logged_pass(self) -> None:
        actions = await self.run_pass()
        if actions:
            log.info("pasada de reportes: %d acción(es)", len(actions))

    async def close(self) -> None:
        for reporting in self.reporting.values():
            await reporting.close()
        for transport in self._transports.values():
            await transport.close()


async def run_once(
    db: Database, clock: Clock, box: SecretBox, settings: Settings, compliance: ComplianceSettings
) -> list[Action]:
    """One pass as of ``clock.now()``, then everything is closed."""
    worker = ComplianceWorker(db, clock, box, settings, compliance)
    try:
        return await worker.run_pass()
    finally:
        await worker.close()
