"""The compliance worker: one pass evaluates due slots and sends what the ledger allows.

A pass, in order: resolve sends a stopped worker left in flight (never a blind resend);
evaluate again the DGA gaps whose readings arrived late (the hours telemetry recorded as
changed); then for each DGA work in shadow or live mode create the due slots and dispatch
(shadow: build and log; live: send, paced, under the backlog rule; check accepted
comprobantes by GET); then the SMA points. The service runs passes on a timer
(:meth:`ComplianceWorker.run`); ``caudal compliance run-once`` runs one and exits.
Coordination between replicas is in the database (work leases, slot claims).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from central.crypto import SecretBox
from central.db import Connection, Database, DatabaseUnavailable
from central.settings import Settings
from central.workers import every
from compliance.actions import Action
from compliance.config_store import StoredConfig, load_configs
from compliance.dga.client import HttpTransport
from compliance.dga.settings import DgaWorkConfig
from compliance.dga_evaluate import CHANGES_PER_TAKE, create_due, recheck_arrivals
from compliance.dga_send import DgaSender
from compliance.ledger_store import in_transaction
from compliance.settings import ComplianceSettings, rut_empresa
from compliance.sma_worker import SmaSender
from protocols.clock import Clock

log = logging.getLogger("caudal.compliance")


class ComplianceWorker:
    """Owns the regulator HTTP transports (one per regulator: pacing is per service) and the senders."""

    def __init__(self, db: Database, clock: Clock, box: SecretBox, settings: Settings,
                 compliance: ComplianceSettings) -> None:
        self.db, self.clock, self.box, self.settings = db, clock, box, compliance
        timing = {"timeout_s": compliance.timeout_s, "min_interval_s": compliance.min_interval_s}
        self._dga_transport = HttpTransport(clock, **timing)
        self._sma_transport = HttpTransport(clock, **timing)
        self.dga = DgaSender(db, clock, rut_empresa(settings), compliance, self._dga_transport)
        self.sma = SmaSender(db, clock, compliance, self._sma_transport)

    async def _configs(self) -> tuple[list[StoredConfig], list[StoredConfig]]:
        def load(conn: Connection) -> tuple[list[StoredConfig], list[StoredConfig]]:
            dga, dga_problems = load_configs(conn, self.box, "dga")
            sma, sma_problems = load_configs(conn, self.box, "sma")
            for problem in dga_problems + sma_problems:
                log.error("%s", problem)
            return dga, sma

        return await in_transaction(self.db, load)

    async def run_pass(self) -> list[Action]:
        """One pass over every configured point; returns what it did."""
        dga, sma = await self._configs()
        actions = await self.dga.resolve_orphans({stored.point_id: stored for stored in dga})
        actions += await self.sma.resolve_orphans()
        actions += await self._late_readings(dga)
        for stored in dga:
            actions += await self._guarded(stored, self._dga_work(stored))
        for stored in sma:
            actions += await self._guarded(stored, self.sma.process(stored))
        return actions

    async def _dga_work(self, stored: StoredConfig) -> list[Action]:
        now = self.clock.now()
        actions = await in_transaction(self.db, create_due, stored, now, self.settings)
        return actions + await self.dga.dispatch(stored)

    async def _late_readings(self, dga: list[StoredConfig]) -> list[Action]:
        """Gaps of shadow and live works that late readings fill, until telemetry has no more
        changed hours to hand over (those of other points are dropped)."""
        works = {stored.point_id: stored for stored in dga}
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

    async def _guarded(self, stored: StoredConfig, work: Awaitable[list[Action]]) -> list[Action]:
        """One point's trouble (a database error, a bug) must not stop the others."""
        try:
            return await work
        except DatabaseUnavailable:  # every point would fail alike: the pass stops, the loop logs the outage once
            raise
        except Exception as exc:  # logged with its traceback and reported; the next point goes on
            log.exception("compliance work for %s failed", stored.point_code)
            regulator = "dga" if isinstance(stored.config, DgaWorkConfig) else "sma"
            return [Action(stored.point_code, regulator, self.clock.now(), "error", "", f"{type(exc).__name__}: {exc}")]

    async def run(self, stop: asyncio.Event) -> None:
        """Passes every ``interval_s`` until ``stop`` is set; then the transports are closed."""
        try:
            await every(self.clock, stop, self.settings.interval_s, self._logged_pass, log, "compliance pass")
        finally:
            await self.close()

    async def _logged_pass(self) -> None:
        actions = await self.run_pass()
        if actions:
            log.info("compliance pass: %d action(s)", len(actions))

    async def close(self) -> None:
        await self.dga.close()
        await self.sma.close()
        await self._dga_transport.close()
        await self._sma_transport.close()


async def run_once(db: Database, clock: Clock, box: SecretBox, settings: Settings,
                   compliance: ComplianceSettings) -> list[Action]:
    """One pass as of ``clock.now()``, then everything is closed."""
    worker = ComplianceWorker(db, clock, box, settings, compliance)
    try:
        return await worker.run_pass()
    finally:
        await worker.close()
