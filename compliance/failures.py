"""The informe de fallas: every slot of a work not reported to the DGA on time, with its cause in
plain Spanish, separating the holder's own failures from the DGA's (manual §6, rule 5).

The cause is read from the ledger and its attempts (:func:`cause_of`, pure): a meter or gateway
without data, a value held for review (who decided and when, or that nobody did), the informant
refused, the DGA refusing (with its message) or unreachable, an answer without comprobante, or a
send after the deadline by Caudal itself. Times are shown on the DGA's UTC-4 clock, as the
regulator reads them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from central.db import Connection
from compliance.dga.slots import to_dga_time
from compliance.ledger import MissedSlot

HOLDER = "Titular"
DGA = "DGA"
STATE_NAMES = {
    None: "sin evaluar",
    "no_data": "sin datos",
    "review": "retenida para revisión",
    "pending": "pendiente de envío",
    "sending": "envío en curso",
    "accepted": "aceptada",
    "retry_scheduled": "reintento programado",
    "rejected": "rechazada, reintento programado",
    "unrecoverable": "informante rechazado",
    "needs_review": "respuesta sin comprobante",
    "discarded": "descartada",
}
_DECISIONS = {"discarded": "descartada", "review": "sin decisión"}


@dataclass(frozen=True)
class Cause:
    text: str
    responsible: str  # HOLDER or DGA
    detail: str = ""


@dataclass(frozen=True)
class Failure:
    """One line of the informe de fallas."""

    slot: datetime
    deadline: datetime
    accepted_at: datetime | None
    state: str | None
    cause: Cause


def _when(t: datetime) -> str:
    return to_dga_time(t).strftime("%Y-%m-%d %H:%M")


def _held(row: Mapping[str, Any]) -> Cause:
    reasons = "; ".join(json.loads(row["reasons"] or "[]"))
    if row["reviewed_at"] is None or row["state"] == "review":
        decision = "sin decisión de una persona"
    else:
        verb = "corregida" if row["corrected_values"] else _DECISIONS.get(row["state"], "aprobada")
        decision = f"{verb} por {row['reviewed_by']} el {_when(row['reviewed_at'])} (UTC-4)"
        decision += f": {row['review_reason']}" if row["review_reason"] else ""
    return Cause("Retenida para revisión por un valor imposible", HOLDER, f"{reasons}; {decision}")


def _from_attempt(attempt: Mapping[str, Any]) -> Cause | None:
    """What the first failed send within the deadline says, or ``None`` if it did not fail."""
    outcome = attempt["outcome"]
    if outcome == "unrecoverable":
        return Cause("Informante bloqueado: la DGA no lo reconoce para la obra", HOLDER, attempt["message"] or "")
    if outcome == "needs_review":
        return Cause("La DGA respondió sin comprobante", DGA, attempt["message"] or "")
    if outcome == "unknown":
        return Cause("Envío interrumpido sin respuesta registrada", HOLDER, attempt["error"] or "")
    if outcome != "retry":
        return None
    status = attempt["http_status"]
    if status is None or status >= 500:
        shown = attempt["error"] or f"HTTP {status}: {attempt['message'] or ''}"
        return Cause("DGA no disponible", DGA, shown.strip())
    return Cause("La DGA rechazó el envío", DGA, f"HTTP {status}: {attempt['message'] or ''}".strip())


def cause_of(
    row: Mapping[str, Any] | None, sends: Iterable[Mapping[str, Any]], deadline: datetime, blocked: bool
) -> Cause:
    """Why a slot was not accepted by its deadline (``sends``: its send attempts, oldest first)."""
    if row is None or row["values_json"] is None:
        return Cause("Medidor o gateway sin datos", HOLDER, "ninguna lectura utilizable cerca de la hora de medición")
    if json.loads(row["reasons"] or "[]"):
        return _held(row)
    for attempt in sends:
        if attempt["started_at"] > deadline:
            break
        found = _from_attempt(attempt)
        if found is not None:
            return found
    if blocked or row["state"] == "unrecoverable":
        return Cause("Informante bloqueado: envíos detenidos hasta corregir sus credenciales", HOLDER)
    first = next(iter(sends), None)
    detail = "" if first is None else f"primer intento el {_when(first['started_at'])} (UTC-4)"
    return Cause("Enviada después del plazo por el sistema del titular", HOLDER, detail)


def _sends(conn: Connection, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if ids:
        rows = conn.fetchall(
            "SELECT * FROM compliance_attempts WHERE kind = 'send' AND submission_id IN"
            f" ({', '.join(str(int(i)) for i in ids)}) ORDER BY id"
        )
        for row in rows:
            found[row["submission_id"]].append(row)
    return found


def failures(
    conn: Connection, missed: list[MissedSlot], rows: Mapping[datetime, dict[str, Any]], blocked: bool
) -> list[Failure]:
    """The informe de fallas of the ``missed`` slots, given their ledger ``rows`` by slot."""
    sends = _sends(conn, [rows[m.slot]["id"] for m in missed if m.slot in rows])
    return [
        Failure(
            m.slot,
            m.deadline,
            m.accepted_at,
            None if m.state is None else m.state.value,
            cause_of(
                rows.get(m.slot), sends.get(rows[m.slot]["id"], []) if m.slot in rows else [], m.deadline, blocked
            ),
        )
        for m in missed
    ]
