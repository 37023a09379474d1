"""SMA reporting: one ``registros`` call per timestamp of the permit's cadence, every
parameter in it, the ``IdVerificacion`` kept as the voucher in the ledger.

Timestamps are multiples of the cadence (UTC), created back to ``sma_backfill_days`` (7). A
timestamp lacking any parameter is a ``no_data`` gap (the SMA refuses partial calls), built
again when its readings arrive late, like the DGA's (:mod:`compliance.late_data`). A call
without an answer is tried again within the day with a doubling wait
(:mod:`compliance.sma.retry`), not on the DGA's following day. One :class:`SmaClient` per point
configuration lives as long as the worker, so its 24 h token is reused. A send found in
flight after a crash is held for a person (the SMA has no documented duplicate answer), and
refused credentials stop the point's SMA reporting with an alert.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from central.db import Connection, Database
from central.telemetry.rollup import StaleHours
from compliance.config_store import StoredConfig
from compliance.events import Severity
from compliance.ledger import Event, EventKind
from compliance.ledger_store import (
    claim_next,
    due_pending,
    fill_gap,
    finish_attempt,
    in_transaction,
    insert_evaluated,
    known_slots,
    move,
    orphaned_in_flight,
    record_reply,
    start_attempt,
    submission,
    take_lease,
)
from compliance.outcome import Outcome, OutcomeKind
from compliance.readings import samples
from compliance.regulator import ReportingBase
from compliance.samples import as_decimal, reading_at
from compliance.sender import log_reply
from compliance.settings import ComplianceSettings
from compliance.sma import NAME
from compliance.sma.client import SmaClient
from compliance.sma.config import SmaPointConfig
from compliance.sma.payload import SmaFormatError, build_registros
from compliance.sma.responses import SmaOutcome, SmaOutcomeKind
from compliance.sma.retry import retry_at
from compliance.transport import HttpTransport
from compliance.worker_actions import Action
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


@dataclass(frozen=True)
class Evaluation:
    """What a timestamp would report: its values, its registros (``measurement``, None for a gap) and why not."""

    event: EventKind
    values: dict[str, str | None]
    measurement: list[dict[str, Any]] | None  # the registros
    reasons: list[str]


def as_ledger_outcome(outcome: SmaOutcome) -> Outcome:
    """The SMA's answer in the ledger's terms: a refused payload or an unvouched success waits
    for a person; refused credentials stop the point; silence is retried."""
    kind = {
        SmaOutcomeKind.ACCEPTED: OutcomeKind.ACCEPTED,
        SmaOutcomeKind.NEEDS_REVIEW: OutcomeKind.NEEDS_REVIEW,
        SmaOutcomeKind.REJECTED: OutcomeKind.NEEDS_REVIEW,
        SmaOutcomeKind.AUTH_FAILED: OutcomeKind.UNRECOVERABLE,
        SmaOutcomeKind.RETRY: OutcomeKind.RETRY,
    }[outcome.kind]
    return Outcome(kind, outcome.id_verificacion, answered=kind is not OutcomeKind.RETRY, detail=outcome.detail)


class SmaReporting(ReportingBase):
    """The SMA's part of a pass: one client per point configuration, kept while it is unchanged."""

    name = NAME

    def __init__(self, db: Database, clock: Clock, settings: ComplianceSettings, transport: HttpTransport) -> None:
        super().__init__(db, clock, settings)
        self._transport = transport
        self._clients: dict[int, tuple[SmaPointConfig, SmaClient]] = {}

    def _client(self, stored: StoredConfig) -> SmaClient:
        known = self._clients.get(stored.point_id)
        if known is None or known[0] != stored.config:
            self._clients[stored.point_id] = (
                stored.config,
                SmaClient(stored.config, self.clock, transport=self._transport),
            )
        return self._clients[stored.point_id][1]

    def create_due(self, conn: Connection, stored: StoredConfig, now: datetime) -> list[Action]:
        config: SmaPointConfig = stored.config
        since = max(stored.created_at, now - timedelta(days=self.settings.sma_backfill_days))
        until = now - timedelta(seconds=self.settings.sma_grace_s)
        known = known_slots(conn, stored.point_id, NAME, since)
        actions = []
        for ts in cadence_slots(since, until, config.cadence_minutes):
            if ts in known:
                continue
            found = self._evaluate(conn, stored, ts)
            moved, created = insert_evaluated(conn, stored.point_id, NAME, ts, config.mode.value, found, now)
            if created is not None:
                actions.append(
                    Action(stored.point_code, NAME, ts, "created", moved.state.value, "; ".join(found.reasons))
                )
        return actions

    def _evaluate(self, conn: Connection, stored: StoredConfig, ts: datetime) -> Evaluation:
        """A timestamp's registros; a parameter without a reading makes it a gap (the SMA refuses partial calls)."""
        values = self._values(conn, stored.point_id, stored.config, ts)
        texts = {name: None if value is None else str(value) for name, value in values.items()}
        try:
            return Evaluation(EventKind.READY, texts, build_registros(stored.config, ts, values), [])
        except SmaFormatError as exc:
            return Evaluation(EventKind.NO_DATA, texts, None, [str(exc)])

    def _values(
        self, conn: Connection, point_id: int, config: SmaPointConfig, ts: datetime
    ) -> dict[str, Decimal | None]:
        window = timedelta(seconds=self.settings.sma_window_s)
        found = samples(conn, point_id, [p.variable for p in config.parameters], ts - window, ts + window)
        picked = {name: reading_at(series, ts, window) for name, series in found.items()}
        return {name: None if sample is None else as_decimal(sample.value) for name, sample in picked.items()}

    def first_slot(self, stored: StoredConfig) -> datetime:
        return stored.created_at

    def slots_reading(self, stored: StoredConfig, run: StaleHours) -> list[datetime]:
        """The timestamps whose window (``sma_window_s`` either side) reaches into the run."""
        window = timedelta(seconds=self.settings.sma_window_s)
        return cadence_slots(run.lo - window, run.hi + window, stored.config.cadence_minutes)

    def recheck(
        self, conn: Connection, stored: StoredConfig, rows: Sequence[dict[str, Any]], now: datetime
    ) -> list[Action]:
        """Gaps whose readings arrived late, built again; those now complete are sent like any other."""
        actions = []
        for row in rows:
            found = self._evaluate(conn, stored, row["slot"])
            if found.event is EventKind.NO_DATA:
                continue
            moved = fill_gap(conn, row, found, now)
            actions.append(Action(stored.point_code, NAME, row["slot"], "rechecked", moved.state.value))
        return actions

    def shadow_all(self, conn: Connection, stored: StoredConfig, now: datetime) -> list[Action]:
        actions = []
        for row in due_pending(conn, stored.point_id, NAME, now):
            log.info(
                "modo shadow, no se envía: SMA %s %s: %s",
                stored.point_code,
                row["slot"].isoformat(),
                row["measurement"],
            )
            moved = move(conn, row, Event(EventKind.SHADOW_LOGGED), now)
            actions.append(Action(stored.point_code, NAME, row["slot"], "shadowed", moved.state.value))
        return actions

    async def send_live(self, stored: StoredConfig) -> list[Action]:
        return await self.send_leased(
            stored, lambda conn: self._claim(conn, stored), lambda row: self._send(stored, row)
        )

    def _claim(self, conn: Connection, stored: StoredConfig) -> dict[str, Any] | None:
        now, until = self.claim_window()
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

    def _record(
        self, conn: Connection, stored: StoredConfig, submission_id: int, attempt_id: int, raw: Any, outcome: Outcome
    ) -> str:
        now = self.clock.now()
        finish_attempt(conn, attempt_id, raw, now, outcome=outcome.kind.value, comprobante=outcome.comprobante)
        row = submission(conn, submission_id)
        moved = record_reply(conn, row, outcome, now, retry_at=retry_at(now, row["attempt_count"]))
        text = f"SMA {stored.point_code} {row['slot'].isoformat()}: {outcome.detail}"
        severity: Severity = "info" if outcome.kind is OutcomeKind.ACCEPTED else "warning"
        blocked = (
            f"el reporte a la SMA de {stored.point_code}"
            f" se detuvo: {outcome.detail}. Corrija las credenciales en su configuración."
        )
        log_reply(
            conn,
            row,
            moved,
            outcome,
            now,
            text=text,
            severity=severity,
            blocked=blocked,
            id_verificacion=outcome.comprobante,
        )
        return moved.state.value

    async def resolve_orphans(self, works: dict[int, StoredConfig]) -> list[Action]:
        rows = await in_transaction(self.db, orphaned_in_flight, NAME, self.clock.now())
        outcome = Outcome(
            OutcomeKind.NEEDS_REVIEW,
            answered=False,
            detail="el envío se interrumpió a medias; la SMA puede tenerlo: decide una persona",
        )
        actions = []
        for row in rows:
            moved = await in_transaction(self.db, lambda conn, r=row: record_reply(conn, r, outcome, self.clock.now()))
            actions.append(
                Action(str(row["point_id"]), NAME, row["slot"], "resolved", moved.state.value, outcome.detail)
            )
        return actions

    async def close(self) -> None:
        for _, client in self._clients.values():
            await client.close()
        self._clients.clear()
