"""Sending DGA slots: shadow logging, live sends under the ledger's rules, GET checks, and
recovery of sends a crash left in flight.

The order for every send is fixed: claim the slot, commit the attempt row and the
``sending`` state, THEN let the request leave, then record the reply. A crash between the
last two leaves ``sending`` with an open attempt; :meth:`DgaSender.resolve_orphans` turns it
into a retry on the following day (:func:`compliance.ledger.resolve_in_flight`), never a
resend now, and the resend relies on the DGA's "Ya existe ... Comprobante: X". The DGA's GET
takes the comprobante, which such a send never returned, so nothing can be asked first: this
resend is the one case where the DGA may receive a slot it already holds; it is logged, written
to the compliance log (``submission.in_flight_resend``) and counted in /metrics.
An accepted slot is terminal in the ledger, so it is never claimed again. The GET check of an
accepted comprobante compares the values the DGA holds with those sent; a difference is an alert.
What a reply or a check writes to the ledger and the compliance log is in
:mod:`compliance.dga.recording`.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from central.db import Connection, Database
from compliance.config_store import StoredConfig
from compliance.dga import NAME
from compliance.dga.client import DgaClient
from compliance.dga.config import DgaWorkConfig
from compliance.dga.evaluate import effective_values
from compliance.dga.format import (
    MEDICION_KEY,
    DgaRequest,
    FormatError,
    build_request,
    format_fecha,
    format_hora,
    redacted,
)
from compliance.dga.recording import alert_check, record_send_reply
from compliance.dga.responses import Check, CheckResult, classify, classify_check
from compliance.dga.slots import SEND_WINDOW, deadline
from compliance.events import IN_FLIGHT_RESEND, record_event
from compliance.ledger import (
    CHECK_AGAIN_AFTER,
    Event,
    EventKind,
    InFlightAction,
    choose_send,
    resolve_in_flight,
)
from compliance.ledger_store import (
    claim,
    close_dangling,
    dangling_attempt,
    due_pending,
    finish_attempt,
    in_transaction,
    interrupted_sends,
    last_attempt_at,
    move,
    orphaned_in_flight,
    record_check,
    release,
    send_candidates,
    start_attempt,
    take_lease,
    unchecked_accepted,
)
from compliance.sender import send_claimed, work_lease
from compliance.settings import ComplianceSettings
from compliance.transport import HttpTransport
from compliance.worker_actions import Action
from protocols.clock import Clock

log = logging.getLogger("caudal.compliance.dga")


def attempt_record(request: DgaRequest) -> dict[str, Any]:
    """What the attempt log keeps of a request: everything but the password."""
    shown = redacted(request)
    return {"method": shown.method, "path": shown.path, "headers": shown.headers, "body": shown.body}


class DgaSender:
    """Sends for every work through one paced transport (about one request per second overall)."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        rut_empresa: str | None,
        settings: ComplianceSettings,
        transport: HttpTransport,
    ) -> None:
        self.db, self.clock, self.rut_empresa, self.settings = db, clock, rut_empresa, settings
        self.worker = settings.worker_id
        self._transport = transport
        self._clients: dict[str, DgaClient] = {}

    def _client(self, base_url: str) -> DgaClient:
        if base_url not in self._clients:
            self._clients[base_url] = DgaClient(base_url, self.clock, transport=self._transport)
        return self._clients[base_url]

    def _claim_until(self) -> datetime:
        return self.clock.now() + timedelta(seconds=self.settings.claim_s)

    async def send_live(self, stored: StoredConfig) -> list[Action]:
        """A live work's sendable slots sent, then its accepted comprobantes checked."""
        if self.rut_empresa is None:
            log.error(
                "CAUDAL_DGA_RUT_EMPRESA no está configurado: la obra DGA %s, en modo live, no se puede enviar",
                stored.point_code,
            )
            return []
        return await self._live(stored)

    # --- shadow --------------------------------------------------------------------------

    def shadow_all(self, conn: Connection, stored: StoredConfig, now: datetime) -> list[Action]:
        return [self._shadow_one(conn, stored, row, now) for row in due_pending(conn, stored.point_id, NAME, now)]

    def _shadow_one(self, conn: Connection, stored: StoredConfig, row: dict[str, Any], now: datetime) -> Action:
        config: DgaWorkConfig = stored.config
        request = (
            build_request(
                config, rut_empresa=self.rut_empresa or "", slot=row["slot"], values=effective_values(row), sent_at=now
            )
            if self.rut_empresa
            else None
        )
        measurement = None if request is None else request.body[MEDICION_KEY[config.work_type]]
        log.info("modo shadow, no se envía: %s medición %s: %r", stored.point_code, row["slot"].isoformat(), request)
        moved = move(
            conn,
            row,
            Event(EventKind.SHADOW_LOGGED),
            now,
            measurement=json.dumps(measurement) if measurement else row["measurement"],
        )
        detail = {} if request is None else {"request": attempt_record(request)}
        record_event(
            conn,
            now,
            "submission.shadowed",
            f"{stored.point_code} medición {row['slot'].isoformat()} armada y registrada (modo shadow)",
            point_id=stored.point_id,
            regulator=NAME,
            submission_id=row["id"],
            **detail,
        )
        return Action(stored.point_code, NAME, row["slot"], "shadowed", moved.state.value)

    # --- live ----------------------------------------------------------------------------

    async def _live(self, stored: StoredConfig) -> list[Action]:
        async with work_lease(
            self.db, stored.point_id, NAME, self.worker, self.clock.now(), self._claim_until()
        ) as held:
            if not held:
                log.info("otro trabajador está enviando la obra DGA %s", stored.point_code)
                return []
            actions = await send_claimed(
                self.db, lambda conn: self._next_claim(conn, stored), lambda row: self._send(stored, row)
            )
            return actions + await self._check_all(stored)

    def _next_claim(self, conn: Connection, stored: StoredConfig) -> dict[str, Any] | None:
        """The slot to send now (:func:`~compliance.ledger.choose_send`), claimed; ``None`` when
        none is due or the backlog spacing says wait."""
        now = self.clock.now()
        if not take_lease(conn, stored.point_id, NAME, self.worker, now, self._claim_until()):
            return None
        candidates = send_candidates(conn, stored.point_id, NAME, now, now - SEND_WINDOW)
        chosen = choose_send(
            [row["slot"] for row in candidates], last_attempt_at(conn, stored.point_id, NAME), now, deadline
        )
        if chosen is None:
            return None
        row_id = next(row["id"] for row in candidates if row["slot"] == chosen)
        return claim(conn, row_id, self.worker, now, self._claim_until())

    async def _send(self, stored: StoredConfig, row: dict[str, Any]) -> Action:
        config: DgaWorkConfig = stored.config
        now = self.clock.now()
        try:
            request = build_request(
                config, rut_empresa=self.rut_empresa or "", slot=row["slot"], values=effective_values(row), sent_at=now
            )
        except FormatError as exc:
            await in_transaction(self.db, self._format_failed, stored, row, str(exc))
            return Action(stored.point_code, NAME, row["slot"], "error", row["state"], str(exc))
        measurement = request.body[MEDICION_KEY[config.work_type]]
        attempt_id = await in_transaction(self.db, self._start_send, stored, row, request, measurement)
        raw = await self._client(config.base_url).send(request)
        outcome = classify(raw)
        state = await in_transaction(
            self.db, lambda conn: record_send_reply(conn, stored, row["id"], attempt_id, raw, outcome, self.clock.now())
        )
        return Action(stored.point_code, NAME, row["slot"], "sent", state, outcome.comprobante or outcome.detail)

    def _start_send(
        self,
        conn: Connection,
        stored: StoredConfig,
        row: dict[str, Any],
        request: DgaRequest,
        measurement: dict[str, str],
    ) -> int:
        """The attempt, committed before the request leaves; a resend of a slot whose earlier send was in
        flight when a worker stopped is said so in the log and the compliance log (counted in /metrics):
        it is the one case where the DGA may receive a slot it already holds."""
        now = self.clock.now()
        if interrupted_sends(conn, row["id"]):
            log.warning(
                "DGA %s medición %s: se envía de nuevo tras un envío que un trabajador detenido dejó en curso;"
                " si la DGA lo guardó, responde 'Ya existe' con el comprobante",
                stored.point_code,
                row["slot"].isoformat(),
            )
            record_event(
                conn,
                now,
                IN_FLIGHT_RESEND,
                f"{stored.point_code} medición {row['slot'].isoformat()}"
                " enviada de nuevo: un envío anterior estaba en curso cuando el trabajador se detuvo y su"
                " respuesta nunca se registró",
                point_id=stored.point_id,
                regulator=NAME,
                submission_id=row["id"],
                severity="warning",
            )
        return start_attempt(conn, row, "send", self.worker, attempt_record(request), now, measurement=measurement)

    def _format_failed(self, conn: Connection, stored: StoredConfig, row: dict[str, Any], message: str) -> None:
        release(conn, row["id"], self.worker)
        record_event(
            conn,
            self.clock.now(),
            "submission.error",
            f"{stored.point_code} medición {row['slot'].isoformat()} no se puede formatear: {message}",
            point_id=stored.point_id,
            regulator=NAME,
            submission_id=row["id"],
            severity="critical",
            alert=True,
        )

    # --- GET checks ----------------------------------------------------------------------

    async def _check_all(self, stored: StoredConfig) -> list[Action]:
        rows = await in_transaction(
            self.db, lambda conn: unchecked_accepted(conn, stored.point_id, NAME, self.clock.now() - CHECK_AGAIN_AFTER)
        )
        actions = []
        for row in rows:
            check = await self._check(stored, row, row["comprobante"])
            await in_transaction(self.db, self._record_check, stored, row, check)
            actions.append(Action(stored.point_code, NAME, row["slot"], "checked", "accepted", check.result.value))
        return actions

    async def _check(self, stored: StoredConfig, row: dict[str, Any], comprobante: str) -> Check:
        """GET what the DGA holds under ``comprobante`` and compare it with what was sent, with the exchange
        recorded like a send."""
        config: DgaWorkConfig = stored.config
        query = {"codigoObra": config.codigo_obra, "numeroComprobante": comprobante}
        record = {"method": "GET", "path": config.work_type.path, "query": query}
        attempt_id = await in_transaction(self.db, start_attempt, row, "check", self.worker, record, self.clock.now())
        raw = await self._client(config.base_url).check(config.work_type, config.codigo_obra, comprobante)
        sent = json.loads(row["measurement"]) if row["measurement"] else None
        check = classify_check(raw, format_fecha(row["slot"]), format_hora(row["slot"]), sent)
        found = comprobante if check.result in (CheckResult.CONFIRMED, CheckResult.MISMATCH) else None
        await in_transaction(
            self.db, finish_attempt, attempt_id, raw, self.clock.now(), outcome=check.result.value, comprobante=found
        )
        return check

    def _record_check(self, conn: Connection, stored: StoredConfig, row: dict[str, Any], check: Check) -> None:
        now = self.clock.now()
        record_check(conn, row["id"], check.result.value, now)
        alert_check(conn, stored, row, check, now)

    # --- recovery ------------------------------------------------------------------------

    async def resolve_orphans(self, configs: dict[int, StoredConfig]) -> list[Action]:
        """Sends left in flight by a worker that stopped: resolved without a blind resend."""
        rows = await in_transaction(self.db, orphaned_in_flight, NAME, self.clock.now())
        actions = []
        for row in rows:
            stored = configs.get(row["point_id"])
            decision = resolve_in_flight(row["comprobante"], self.clock.now())
            event = Event(EventKind.IN_FLIGHT_UNANSWERED)
            check = None
            if decision.action is InFlightAction.CHECK and stored is not None:
                check = await self._check(stored, row, row["comprobante"])
                event = Event(_CHECK_EVENTS[check.result], comprobante=row["comprobante"])
            state = await in_transaction(self.db, self._resolve, row, event, decision.reason)
            if check is not None and stored is not None:
                await in_transaction(self.db, alert_check, stored, row, check, self.clock.now())
            code = stored.point_code if stored else str(row["point_id"])
            actions.append(Action(code, NAME, row["slot"], "resolved", state, decision.reason))
        return actions

    def _resolve(self, conn: Connection, row: dict[str, Any], event: Event, reason: str) -> str:
        now = self.clock.now()
        attempt = dangling_attempt(conn, row["id"])
        if attempt is not None:
            close_dangling(conn, attempt["id"], now)
        moved = move(conn, row, event, now, claimed_by=None, claimed_until=None)
        record_event(
            conn,
            now,
            "submission.in_flight_resolved",
            f"la medición {row['slot'].isoformat()} quedó en curso; {reason}; ahora {moved.state.value}",
            point_id=row["point_id"],
            regulator=NAME,
            submission_id=row["id"],
            severity="warning",
        )
        return moved.state.value

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()


_CHECK_EVENTS = {
    CheckResult.CONFIRMED: EventKind.CHECK_CONFIRMED,
    CheckResult.MISMATCH: EventKind.CHECK_CONFIRMED,
    CheckResult.NOT_FOUND: EventKind.CHECK_NOT_FOUND,
    CheckResult.UNKNOWN: EventKind.CHECK_UNKNOWN,
}
