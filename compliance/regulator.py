"""What every regulator offers the rest of compliance: one :class:`Regulator` per package.

The worker, the configuration store and the configuration routes know regulators only
through this protocol and the registry (:mod:`compliance.registry`), so a new regulator is a
new package with an object that satisfies it, plus one line in the registry. What is shared
lives at compliance's top level: the HTTP transport (:mod:`compliance.transport`), the
outcome of a reply (:mod:`compliance.outcome`), the mode (:mod:`compliance.mode`), the
ledger (:mod:`compliance.ledger`, :mod:`compliance.ledger_store`) and the lease → claim →
send loop (:mod:`compliance.sender`).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel

from central.db import Connection, Database
from central.settings import Settings
from central.telemetry.rollup import StaleHours
from compliance.config_store import StoredConfig
from compliance.late_data import Runs, gap_rows, horizon
from compliance.ledger_store import hold_work, in_transaction
from compliance.mode import Mode
from compliance.sender import Row, send_claimed, work_lease
from compliance.settings import ComplianceSettings
from compliance.transport import HttpTransport
from compliance.worker_actions import Action
from protocols.clock import Clock

log = logging.getLogger("caudal.compliance")


class Reporting(Protocol):
    """One regulator's part of a worker pass, over the works configured for it."""

    async def resolve_orphans(self, works: dict[int, StoredConfig]) -> list[Action]:
        """Sends a stopped worker left in flight, resolved without a blind resend."""

    def refill(self, conn: Connection, works: dict[int, StoredConfig], runs: Runs, now: datetime) -> list[Action]:
        """The ``no_data`` slots of ``works`` that read the changed hours ``runs`` evaluated again, in the
        caller's transaction (:mod:`compliance.late_data` takes the runs once for every regulator)."""

    async def process(self, stored: StoredConfig) -> list[Action]:
        """One work: create its due slots, then log them (shadow) or send them (live)."""

    async def close(self) -> None:
        """Close the clients this reporting opened (the transport is the worker's)."""


class Regulator(Protocol):
    """A regulator Caudal reports to.

    ``name`` is its value in the ledger's and configurations' ``regulator`` column and in the
    configuration route ``/points/{code}/compliance/<name>``; ``title`` is how people read it,
    ``spoken`` how a Spanish sentence names it ("la DGA"; the alerts' texts use it).
    """

    name: str
    title: str
    spoken: str
    subject: str  # what one configuration reports, as the API's summaries say it: "work" or "point"
    config_model: type[BaseModel]  # the validated settings the worker uses (password included)
    config_in: type[BaseModel]  # what a person sends; leaving out the password keeps the stored one
    secret_field: str  # the password's field in both models; stored encrypted, never shown
    identity_field: str  # the login whose change alone (with the same password) also lifts a block
    examples: dict[str, Any] | None  # OpenAPI examples of ``config_in`` (None: the model's own)
    resends_in_flight: bool  # a send found in flight is sent again (True) or held for a person

    def check_configurable(self, change: BaseModel, settings: Settings) -> None:
        """Raise :class:`~central.problems.Conflict` when the server cannot take ``change``."""

    def check_fits_point(self, config: Any, point: dict[str, Any]) -> None:
        """Raise :class:`~central.problems.Invalid` when ``config`` does not suit the point."""

    def check_correction(self, conn: Connection, row: dict[str, Any], values: dict[str, str]) -> None:
        """Raise :class:`~central.problems.Invalid` when a slot with the corrected ``values``
        could not be written in the regulator's format."""

    def reporting(
        self, db: Database, clock: Clock, settings: Settings, compliance: ComplianceSettings, transport: HttpTransport
    ) -> Reporting:
        """The worker's part for this regulator, sending through ``transport`` (paced per regulator)."""


class RegulatorBase:
    """What a regulator has unless it says otherwise: its configuration model's own OpenAPI
    examples, no server-wide precondition, any kind of point, corrected values taken as given."""

    examples: dict[str, Any] | None = None

    def check_configurable(self, change: BaseModel, settings: Settings) -> None:
        """Any configuration can be stored."""

    def check_fits_point(self, config: Any, point: dict[str, Any]) -> None:
        """A configuration suits any kind of point."""

    def check_correction(self, conn: Connection, row: dict[str, Any], values: dict[str, str]) -> None:
        """Corrected values are declared as given."""


class ReportingBase(ABC):
    """The steps every regulator's part of a pass takes, the same for each: create the work's due
    slots; log them (shadow) or, unless the work is blocked, send them (live); and when late
    readings reach a ``no_data`` slot, evaluate it again. A regulator brings what differs: how a
    slot is evaluated and sent, and which slots a run of changed hours is read by."""

    name: str  # the regulator's name in the ledger

    def __init__(self, db: Database, clock: Clock, settings: ComplianceSettings) -> None:
        self.db, self.clock, self.settings = db, clock, settings
        self.worker = settings.worker_id

    async def process(self, stored: StoredConfig) -> list[Action]:
        actions = await in_transaction(self.db, self.create_due, stored, self.clock.now())
        if stored.config.mode is Mode.SHADOW:
            return actions + await in_transaction(self.db, self.shadow_all, stored, self.clock.now())
        if stored.blocked:
            log.warning(
                "%s: la obra %s está bloqueada; no se envía nada hasta que se corrijan sus credenciales",
                self.name,
                stored.point_code,
            )
            return actions
        return actions + await self.send_live(stored)

    def refill(self, conn: Connection, works: dict[int, StoredConfig], runs: Runs, now: datetime) -> list[Action]:
        actions: list[Action] = []
        for point_id in sorted(runs):  # ascending: holds are taken in one order
            stored = works[point_id]
            hold_work(conn, point_id, self.name)
            since = horizon(self.first_slot(stored), now, self.settings.late_data_days)
            slots = {slot for run in runs[point_id] for slot in self.slots_reading(stored, run) if slot >= since}
            actions += self.recheck(conn, stored, gap_rows(conn, point_id, self.name, slots), now)
        return actions

    def claim_window(self) -> tuple[datetime, datetime]:
        """Now, and until when a claim of a slot (or of a work's lease) taken now holds."""
        now = self.clock.now()
        return now, now + timedelta(seconds=self.settings.claim_s)

    async def send_leased(
        self,
        stored: StoredConfig,
        next_claim: Callable[[Connection], Row | None],
        send: Callable[[Row], Awaitable[Action]],
    ) -> list[Action]:
        """The work's slots claimed and sent one after another while this worker holds the work's
        lease; nothing when another worker holds it (see :mod:`compliance.sender`)."""
        now, until = self.claim_window()
        async with work_lease(self.db, stored.point_id, self.name, self.worker, now, until) as held:
            return await send_claimed(self.db, next_claim, send) if held else []

    @abstractmethod
    def create_due(self, conn: Connection, stored: StoredConfig, now: datetime) -> list[Action]:
        """Ledger rows for the work's due slots not in the ledger yet."""

    @abstractmethod
    def shadow_all(self, conn: Connection, stored: StoredConfig, now: datetime) -> list[Action]:
        """Build and log the work's sendable slots without sending them (shadow mode)."""

    @abstractmethod
    async def send_live(self, stored: StoredConfig) -> list[Action]:
        """Send the work's sendable slots (under :func:`compliance.sender.work_lease`)."""

    @abstractmethod
    def first_slot(self, stored: StoredConfig) -> datetime:
        """The oldest slot the configuration ever reports (how far back a gap can be filled)."""

    @abstractmethod
    def slots_reading(self, stored: StoredConfig, run: StaleHours) -> Iterable[datetime]:
        """The slots whose values read readings in the changed hours ``run``."""

    @abstractmethod
    def recheck(
        self, conn: Connection, stored: StoredConfig, rows: Sequence[dict[str, Any]], now: datetime
    ) -> list[Action]:
        """The ``no_data`` slots ``rows`` evaluated again; those that now have data become sendable."""

    @abstractmethod
    async def resolve_orphans(self, works: dict[int, StoredConfig]) -> list[Action]:
        """Sends a stopped worker left in flight, resolved without a blind resend."""

    @abstractmethod
    async def close(self) -> None:
        """Close the clients this reporting opened (the transport is the worker's)."""
