"""What the ledger and the compliance log keep of a DGA reply: the state it moves the slot to, the
event with its severity, and the alerts a send's reply or a GET check raises.

Apart from :mod:`compliance.dga.send`, which orders the network steps around these writes (claim,
attempt, request, reply), so each reads on its own: the sender the sequence, this module what each
answer means for the ledger.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from central.db import Connection
from compliance.config_store import StoredConfig
from compliance.dga import NAME
from compliance.dga.responses import Check, CheckResult
from compliance.events import Severity, raise_compliance_alert
from compliance.ledger import IllegalTransition
from compliance.ledger_store import StaleSubmission, finish_attempt, record_reply, submission
from compliance.outcome import Outcome, OutcomeKind
from compliance.sender import log_reply
from compliance.transport import RawReply

_SEVERITY: dict[OutcomeKind, Severity] = {
    OutcomeKind.ACCEPTED: "info",
    OutcomeKind.RETRY: "warning",
    OutcomeKind.NEEDS_REVIEW: "warning",
    OutcomeKind.UNRECOVERABLE: "critical",
}


def record_send_reply(
    conn: Connection,
    stored: StoredConfig,
    submission_id: int,
    attempt_id: int,
    raw: RawReply,
    outcome: Outcome,
    now: datetime,
) -> str:
    """The reply to a send, recorded: the attempt closed, the slot moved, the event logged; a reply that
    comes after the slot moved on is an alert, and an unrecoverable one blocks the work."""
    finish_attempt(conn, attempt_id, raw, now, outcome=outcome.kind.value, comprobante=outcome.comprobante)
    row = submission(conn, submission_id)
    slot = row["slot"].isoformat()
    try:
        moved = record_reply(conn, row, outcome, now)
    except (IllegalTransition, StaleSubmission) as exc:
        raise_compliance_alert(
            conn,
            stored.point_id,
            "submission.late_reply",
            f"{stored.point_code} medición {slot}:"
            f" una respuesta ({outcome.kind.value} {outcome.comprobante or ''}) llegó después de"
            f" que el envío cambiara de estado: {exc}",
            now,
            submission_id=submission_id,
            regulator=NAME,
        )
        return row["state"]
    blocked = (
        f"el envío a la DGA de {stored.point_code}"
        f" se detuvo: {outcome.detail}. Corrija el RUT o la clave del informante en la"
        " configuración de la obra para reanudarlo."
    )
    text = f"{stored.point_code} medición {slot}: {outcome.detail}"
    severity = _SEVERITY[outcome.kind]
    log_reply(
        conn, row, moved, outcome, now, text=text, severity=severity, blocked=blocked, comprobante=outcome.comprobante
    )
    return moved.state.value


def alert_check(conn: Connection, stored: StoredConfig, row: dict[str, Any], check: Check, now: datetime) -> None:
    """A GET check that found nothing, or other values than those sent, raised as an alert."""
    slot = row["slot"].isoformat()
    if check.result is CheckResult.NOT_FOUND:
        raise_compliance_alert(
            conn,
            stored.point_id,
            "submission.check_not_found",
            f"{stored.point_code} medición"
            f" {slot}: la DGA no muestra el comprobante {row['comprobante']}; búsquelo en"
            " SNIA",
            now,
            submission_id=row["id"],
            regulator=NAME,
        )
    if check.result is CheckResult.MISMATCH:
        raise_compliance_alert(
            conn,
            stored.point_id,
            "submission.check_mismatch",
            f"{stored.point_code} medición"
            f" {slot}: la DGA guarda el comprobante {row['comprobante']} con valores distintos"
            f" de los enviados ({'; '.join(check.differences)}); compárelos en SNIA",
            now,
            submission_id=row["id"],
            regulator=NAME,
        )
