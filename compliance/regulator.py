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

from typing import Any, Protocol

from pydantic import BaseModel

from central.db import Connection, Database
from central.settings import Settings
from compliance.actions import Action
from compliance.config_store import StoredConfig
from compliance.settings import ComplianceSettings
from compliance.transport import HttpTransport
from protocols.clock import Clock


class Reporting(Protocol):
    """One regulator's part of a worker pass, over the works configured for it."""

    async def resolve_orphans(self, works: dict[int, StoredConfig]) -> list[Action]:
        """Sends a stopped worker left in flight, resolved without a blind resend."""

    async def catch_up(self, works: dict[int, StoredConfig]) -> list[Action]:
        """Slots whose readings arrived late, evaluated again (nothing for a regulator without gaps to refill)."""

    async def process(self, stored: StoredConfig) -> list[Action]:
        """One work: create its due slots, then log them (shadow) or send them (live)."""

    async def close(self) -> None:
        """Close the clients this reporting opened (the transport is the worker's)."""


class Regulator(Protocol):
    """A regulator Caudal reports to.

    ``name`` is its value in the ledger's and configurations' ``regulator`` column and in the
    configuration route ``/points/{code}/compliance/<name>``; ``title`` is how people read it.
    """

    name: str
    title: str
    subject: str  # what one configuration reports, as the API's summaries say it: "work" or "point"
    config_model: type[BaseModel]  # the validated settings the worker uses (password included)
    config_in: type[BaseModel]  # what a person sends; leaving out the password keeps the stored one
    secret_field: str  # the password's field in both models; stored encrypted, never shown
    identity_field: str  # the login whose change alone (with the same password) also lifts a block
    examples: dict[str, Any] | None  # OpenAPI examples of ``config_in`` (None: the model's own)
    resends_in_flight: bool  # a send found in flight is sent again (True) or held for a person

    def check_configurable(self, change: BaseModel, settings: Settings) -> None:
        """Raise :class:`~central.errors.ApiError` when the server cannot take ``change`` (409)."""

    def check_fits_point(self, config: Any, point: dict[str, Any]) -> None:
        """Raise :class:`~central.errors.ApiError` (422) when ``config`` does not suit the point."""

    def check_correction(self, conn: Connection, row: dict[str, Any], values: dict[str, str]) -> None:
        """Raise :class:`~central.errors.ApiError` (422) when a slot with the corrected ``values``
        could not be written in the regulator's format."""

    def reporting(self, db: Database, clock: Clock, settings: Settings, compliance: ComplianceSettings,
                  transport: HttpTransport) -> Reporting:
        """The worker's part for this regulator, sending through ``transport`` (paced per regulator)."""
