"""A third regulator that exists only in the tests: what a new package under compliance/ would
hold (its name, settings, evaluation and sending over the shared parts), to show that the worker,
the configuration store, the configuration routes and the alerts take it from the registry alone.

It reports each hour's newest flow to ``base_url`` (POST, JSON); an hour without flow is a gap.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from central.db import Connection, Database
from central.settings import Settings
from central.telemetry.rollup import StaleHours
from compliance import ledger_store as store
from compliance.config_store import StoredConfig
from compliance.ledger import Event, EventKind, transition
from compliance.mode import RegulatorConfig
from compliance.outcome import Outcome, OutcomeKind
from compliance.readings import samples
from compliance.regulator import RegulatorBase, ReportingBase
from compliance.settings import ComplianceSettings
from compliance.transport import HttpTransport
from compliance.worker_actions import Action
from protocols.clock import Clock

NAME = "tercero"
HOUR = timedelta(hours=1)


class TerceroConfig(RegulatorConfig):
    model_config = ConfigDict(frozen=True)

    cuenta: str = Field(min_length=1)
    clave: SecretStr | None = None
    base_url: str


def hours(since: datetime, until: datetime) -> list[datetime]:
    first = since.replace(minute=0, second=0, microsecond=0)
    return [first + n * HOUR for n in range(int((until - first) / HOUR) + 1) if first + n * HOUR >= since]


class TerceroReporting(ReportingBase):
    name = NAME

    def __init__(self, db: Database, clock: Clock, settings: ComplianceSettings, transport: HttpTransport) -> None:
        super().__init__(db, clock, settings)
        self.transport = transport

    def _flow(self, conn: Connection, stored: StoredConfig, slot: datetime) -> float | None:
        found = samples(conn, stored.point_id, ["flow"], slot, slot + HOUR)["flow"]
        return found[-1].value if found else None

    def create_due(self, conn: Connection, stored: StoredConfig, now: datetime) -> list[Action]:
        known = store.known_slots(conn, stored.point_id, NAME, stored.created_at)
        actions = []
        for slot in hours(stored.created_at, now - HOUR):
            if slot in known:
                continue
            flow = self._flow(conn, stored, slot)
            moved = transition(None, Event(EventKind.NO_DATA if flow is None else EventKind.READY), now)
            store.insert_submission(
                conn,
                stored.point_id,
                NAME,
                slot,
                stored.config.mode.value,
                moved,
                now,
                values={"flow": None if flow is None else str(flow)},
                measurement=None,
                reasons=[],
            )
            actions.append(Action(stored.point_code, NAME, slot, "created", moved.state.value))
        return actions

    def shadow_all(self, conn: Connection, stored: StoredConfig, now: datetime) -> list[Action]:
        return [
            Action(
                stored.point_code,
                NAME,
                row["slot"],
                "shadowed",
                store.move(conn, row, Event(EventKind.SHADOW_LOGGED), now).state.value,
            )
            for row in store.due_pending(conn, stored.point_id, NAME, now)
        ]

    async def send_live(self, stored: StoredConfig) -> list[Action]:
        return await self.send_leased(
            stored, lambda conn: self._claim(conn, stored), lambda row: self._send(stored, row)
        )

    def _claim(self, conn: Connection, stored: StoredConfig) -> dict[str, Any] | None:
        return store.claim_next(conn, stored.point_id, NAME, self.worker, *self.claim_window())

    async def _send(self, stored: StoredConfig, row: dict[str, Any]) -> Action:
        body = {"cuenta": stored.config.cuenta, "hora": row["slot"].isoformat(), "flujo": row["values_json"]}
        attempt = await store.in_transaction(
            self.db, store.start_attempt, row, "send", self.worker, body, self.clock.now()
        )
        raw = await self.transport.request("POST", stored.config.base_url, data=json.dumps(body).encode())
        kind = OutcomeKind.ACCEPTED if raw.http_status == 200 else OutcomeKind.RETRY
        outcome = Outcome(kind, answered=raw.http_status is not None, detail=raw.error or "")

        def record(conn: Connection) -> str:
            now = self.clock.now()
            store.finish_attempt(conn, attempt, raw, now, outcome=kind.value, comprobante=None)
            return store.record_reply(
                conn, store.submission(conn, row["id"]), outcome, now, retry_at=now + HOUR
            ).state.value

        return Action(stored.point_code, NAME, row["slot"], "sent", await store.in_transaction(self.db, record))

    def first_slot(self, stored: StoredConfig) -> datetime:
        return stored.created_at

    def slots_reading(self, stored: StoredConfig, run: StaleHours) -> list[datetime]:
        return hours(run.lo, run.hi - HOUR)

    def recheck(
        self, conn: Connection, stored: StoredConfig, rows: Sequence[dict[str, Any]], now: datetime
    ) -> list[Action]:
        filled = [(row, self._flow(conn, stored, row["slot"])) for row in rows]
        return [
            Action(
                stored.point_code,
                NAME,
                row["slot"],
                "rechecked",
                store.move(
                    conn, row, Event(EventKind.READY), now, values_json=json.dumps({"flow": str(flow)})
                ).state.value,
            )
            for row, flow in filled
            if flow is not None
        ]

    async def resolve_orphans(self, works: dict[int, StoredConfig]) -> list[Action]:
        return []

    async def close(self) -> None:
        """The transport is the worker's."""


class Tercero(RegulatorBase):
    name, title, spoken, subject = NAME, "Tercero", "la autoridad de prueba", "point"
    config_model: type[BaseModel] = TerceroConfig
    config_in: type[BaseModel] = TerceroConfig
    secret_field, identity_field, resends_in_flight = "clave", "cuenta", False

    def reporting(
        self, db: Database, clock: Clock, settings: Settings, compliance: ComplianceSettings, transport: HttpTransport
    ) -> TerceroReporting:
        return TerceroReporting(db, clock, compliance, transport)


TERCERO = Tercero()
