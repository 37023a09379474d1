"""SMA reporting: one ``registros`` call per timestamp of the permit's cadence, every
parameter in it, the ``IdVerificacion`` kept as the voucher in the ledger.

Timestamps are multiples of the cadence (UTC), created back to ``sma_backfill_days`` (7). A
timestamp lacking any parameter is a ``no_data`` gap (the SMA refuses partial calls). A call
without an answer is tried again within the day with a doubling wait
(:mod:`compliance.sma.retry`), not on the DGA's following day. One :class:`SmaClient` per point
configuration lives as long as the worker, so its 24 h token is reused. A send found in
flight after a crash is held for a person (the SMA has no documented duplicate answer), and
refused credentials stop the point's SMA reporting with an alert.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from central.db import Connection, Database
from compliance.actions import Action
from compliance.config_store import StoredConfig, block_work
from compliance.dga.values import as_decimal, reading_at
from compliance.events import raise_compliance_alert, record_event
from compliance.ledger import Event, EventKind, transition
from compliance.ledger_store import (
    claim_next,
    due_pending,
    finish_attempt,
    in_transaction,
    insert_submission,
    known_slots,
    move,
    orphaned_in_flight,
    record_reply,
    start_attempt,
    submission,
    take_lease,
)
from compliance.mode import Mode
from compliance.outcome import Outcome, OutcomeKind
from compliance.readings import samples
from compliance.sender import send_claimed, work_lease
from compliance.settings import ComplianceSettings
from compliance.sma import NAME
from compliance.sma.client import SmaClient
from compliance.sma.payload import SmaFormatError, build_registros
from compliance.sma.responses import SmaOutcome, SmaOutcomeKind
from compliance.sma.retry import retry_at
from compliance.sma.settings import SmaPointConfig
from compliance.transport import HttpTransport
from protocols.clock import Clock

log = logging.getLogger("caudal.compliance.sma")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def cadence_slots(since: datetime, until: datetime, minutes: int) -> list[datetime]:
    """Multiples of ``minutes`` (from the epoch, UTC) in ``[since, until]``."""
    step = timedelta(minutes=minutes)
    first = _EPOCH + -((_EPOCH - since) // step) * step
    found = []
    while first <= until:
        found.append(first)
        first += step
    return found


def as_ledger_outcome(outcome: SmaOutcome) -> Outcome:
    """The SMA's answer in the ledger's terms: a refused payload or an unvouched success waits
    for a person; refused credentials stop the point; silence is retried."""
    kind = {SmaOutcomeKind.ACCEPTED: OutcomeKind.ACCEPTED, SmaOutcomeKind.NEEDS_REVIEW: OutcomeKind.NEEDS_REVIEW,
            SmaOutcomeKind.REJECTED: OutcomeKind.NEEDS_REVIEW, SmaOutcomeKind.AUTH_FAILED: OutcomeKind.UNRECOVERABLE,
            SmaOutcomeKind.RETRY: OutcomeKind.RETRY}[outcome.kind]
    return Outcome(kind, outcome.id_verificacion, answered=kind is not OutcomeKind.RETRY, detail=outcome.detail)


class SmaSender:
    def __init__(self, db: Database, clock: Clock, settings: ComplianceSettings, transport: HttpTransport) -> None:
        self.db, self.clock, self.settings = db, clock, settings
        self.worker = settings.worker_id
        self._transport = transport
        self._clients: dict[int, tuple[SmaPointConfig, SmaClient]] = {}

    def _client(self, stored: StoredConfig) -> SmaClient:
        known = self._clients.get(stored.point_id)
        if known is None or known[0] != stored.config:
            self._clients[stored.point_id] = (stored.config, SmaClient(stored.config, self.clock,
                                                                        transport=self._transport))
        return self._clients[stored.point_id][1]

    async def process(self, stored: StoredConfig) -> list[Action]:
        actions = await in_transaction(self.db, self._create_due, stored)
        if stored.config.mode is Mode.SHADOW:
            return actions + await in_transaction(self.db, self._shadow_all, stored)
        if stored.blocked:
            return actions
        return actions + await self._live(stored)

    def _create_due(self, conn: Connection, stored: StoredConfig) -> list[Action]:
        config: SmaPointConfig = stored.config
        now = self.clock.now()
        since = max(stored.created_at, now - timedelta(days=self.settings.sma_backfill_days))
        until = now - timedelta(seconds=self.settings.sma_grace_s)
        known = known_slots(conn, stored.point_id, NAME, since)
        actions = []
        for ts in cadence_slots(since, until, config.cadence_minutes):
            if ts in known:
                continue
            values = self._values(conn, stored.point_id, config, ts)
            try:
                registros, reasons, event = build_registros(config, ts, values), [], EventKind.READY
            except SmaFormatError as exc:
                registros, reasons, event = None, [str(exc)], EventKind.NO_DATA
            moved = transition(None, Event(event), now)
            texts = {name: None if value is None else str(value) for name, value in values.items()}
            if insert_submission(conn, stored.point_id, NAME, ts, config.mode.value, moved, now, values=texts,
                                 measurement=registros, reasons=reasons) is not None:
                actions.append(Action(stored.point_code, NAME, ts, "created", moved.state.value, "; ".join(reasons)))
        return actions

    def _values(self, conn: Connection, point_id: int, config: SmaPointConfig, ts: datetime) -> dict[str, Decimal | None]:
        window = timedelta(seconds=self.settings.sma_window_s)
        found = samples(conn, point_id, [p.variable for p in config.parameters], ts - window, ts + window)
        picked = {name: reading_at(series, ts, window) for name, series in found.items()}
        return {name: None if sample is None else as_decimal(sample.value) for name, sample in picked.items()}

    def _shadow_all(self, conn: Connection, stored: StoredConfig) -> list[Action]:
        now = self.clock.now()
        actions = []
        for row in due_pending(conn, stored.point_id, NAME, now):
            log.info("shadow mode, not sent: SMA %s %s: %s", stored.point_code, row["slot"].isoformat(),
                     row["measurement"])
            moved = move(conn, row, Event(EventKind.SHADOW_LOGGED), now)
            actions.append(Action(stored.point_code, NAME, row["slot"], "shadowed", moved.state.value))
        return actions

    async def _live(self, stored: StoredConfig) -> list[Action]:
        now = self.clock.now()
        until = now + timedelta(seconds=self.settings.claim_s)
        async with work_lease(self.db, stored.point_id, NAME, self.worker, now, until) as held:
            if not held:
                return []
            return await send_claimed(self.db, lambda conn: self._claim(conn, stored), lambda row: self._send(stored, row))

    def _claim(self, conn: Connection, stored: StoredConfig) -> dict[str, Any] | None:
        now = self.clock.now()
        until = now + timedelta(seconds=self.settings.claim_s)
        if not take_lease(conn, stored.point_id, NAME, self.worker, now, until):
            return None
        return claim_next(conn, stored.point_id, NAME, self.worker, now, until)

    async def _send(self, stored: StoredConfig, row: dict[str, Any]) -> Action:
        config: SmaPointConfig = stored.config
        registros = json.loads(row["measurement"])
        record = {"method": "POST", "path": config.registros_path, "body": registros}
        attempt_id = await in_transaction(self.db, start_attempt, row, "send", self.worker, record, self.clock.now())
        reply = await self._client(stored).send(registros)
        outcome = as_ledger_outcome(reply.outcome)
        state = await in_transaction(self.db, self._record, stored, row["id"], attempt_id, reply.raw, outcome)
        return Action(stored.point_code, NAME, row["slot"], "sent", state, outcome.comprobante or outcome.detail)

    def _record(self, conn: Connection, stored: StoredConfig, submission_id: int, attempt_id: int, raw: Any,
                outcome: Outcome) -> str:
        now = self.clock.now()
        finish_attempt(conn, attempt_id, raw, now, outcome=outcome.kind.value, comprobante=outcome.comprobante)
        row = submission(conn, submission_id)
        moved = record_reply(conn, row, outcome, now, retry_at=retry_at(now, row["attempt_count"]))
        record_event(conn, now, f"submission.{moved.state.value}", f"SMA {stored.point_code} "
                     f"{row['slot'].isoformat()}: {outcome.detail}",
                     point_id=stored.point_id, regulator=NAME, submission_id=submission_id,
                     severity="info" if outcome.kind is OutcomeKind.ACCEPTED else "warning",
                     alert=outcome.kind is OutcomeKind.NEEDS_REVIEW, id_verificacion=outcome.comprobante)
        if outcome.kind is OutcomeKind.UNRECOVERABLE:
            block_work(conn, stored.point_id, NAME, outcome.detail)
            raise_compliance_alert(conn, stored.point_id, "work.blocked", f"SMA reporting for {stored.point_code}"
                                   f" stopped: {outcome.detail}. Fix the credentials in its configuration.", now,
                                   regulator=NAME, submission_id=submission_id)
        return moved.state.value

    async def catch_up(self, works: dict[int, StoredConfig]) -> list[Action]:
        """Nothing to catch up: a timestamp's registros are built once, when it is created."""
        return []

    async def resolve_orphans(self, works: dict[int, StoredConfig]) -> list[Action]:
        rows = await in_transaction(self.db, orphaned_in_flight, NAME, self.clock.now())
        outcome = Outcome(OutcomeKind.NEEDS_REVIEW, answered=False,
                          detail="the sender stopped mid-send; the SMA may hold it: a person decides")
        actions = []
        for row in rows:
            moved = await in_transaction(self.db, lambda conn, r=row: record_reply(conn, r, outcome, self.clock.now()))
            actions.append(Action(str(row["point_id"]), NAME, row["slot"], "resolved", moved.state.value,
                                  outcome.detail))
        return actions

    async def close(self) -> None:
        for _, client in self._clients.values():
            await client.close()
        self._clients.clear()
