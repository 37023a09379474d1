"""The compliance log: configuration changes, submissions, reviews and errors, one row each.

Rows are written in the caller's transaction, so an event commits together with the change
it describes. Rows flagged ``alert`` need a person (a work stopped by the DGA, a reply that
could not be confirmed); they are published as facts for the alerts (``compliance_facts``).
Never put a password in a message or a detail.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field

from central.core import lookups
from central.db import Connection
from central.pagination import Page, PageQuery, fetch_page
from central.timerange import TimeRange
from compliance.facts import publish

Severity = Literal["info", "warning", "critical"]
WORKER_ACTOR = "worker"
# a slot sent again after an earlier send was left in flight: the regulator may hold it twice (/metrics counts them)
IN_FLIGHT_RESEND = "submission.in_flight_resend"
HOLD_URGENT = timedelta(minutes=15)  # a hold is critical when its slot's deadline is this close (or past)


class ComplianceEvent(BaseModel):
    """One line of the compliance log."""

    id: int
    at: datetime
    point: str | None = Field(description="The point's code")
    regulator: str | None
    submission_id: int | None
    kind: str = Field(examples=["submission.accepted", "config.changed", "work.blocked"])
    severity: Severity
    alert: bool = Field(description="A person must act")
    actor: str
    message: str
    detail: dict[str, Any]


def record_event(
    conn: Connection,
    now: datetime,
    kind: str,
    message: str,
    *,
    point_id: int | None = None,
    regulator: str | None = None,
    submission_id: int | None = None,
    severity: Severity = "info",
    alert: bool = False,
    actor: str = WORKER_ACTOR,
    **detail: Any,
) -> None:
    """Append one event in the caller's transaction; one flagged ``alert`` about a point is also
    published as an open fact for the alerts (:mod:`compliance.facts`)."""
    conn.execute(
        "INSERT INTO compliance_events (at, point_id, regulator, submission_id, kind, severity, alert, actor,"
        " message, detail) VALUES (:at, :point_id, :regulator, :submission_id, :kind, :severity, :alert, :actor,"
        " :message, :detail)",
        {
            "at": now,
            "point_id": point_id,
            "regulator": regulator,
            "submission_id": submission_id,
            "kind": kind,
            "severity": severity,
            "alert": alert,
            "actor": actor,
            "message": message,
            "detail": json.dumps(detail, sort_keys=True, default=str),
        },
    )
    if alert and point_id is not None:
        deadline = detail.get("deadline")
        publish(
            conn,
            now,
            kind,
            message,
            point_id=point_id,
            regulator=regulator,
            submission_id=submission_id,
            deadline=datetime.fromisoformat(deadline) if isinstance(deadline, str) else None,
        )


def raise_compliance_alert(
    conn: Connection,
    point_id: int,
    kind: str,
    message: str,
    now: datetime,
    *,
    regulator: str,
    submission_id: int | None = None,
) -> None:
    """A critical event a person must act on (e.g. the DGA refused the work's informant)."""
    record_event(
        conn,
        now,
        kind,
        message,
        severity="critical",
        alert=True,
        point_id=point_id,
        regulator=regulator,
        submission_id=submission_id,
    )


def hold_severity(deadline: datetime, now: datetime) -> Severity:
    """A held slot is a warning, critical once its deadline is within :data:`HOLD_URGENT` (or past)."""
    return "critical" if deadline - now <= HOLD_URGENT else "warning"


def announce_hold(
    conn: Connection,
    point_id: int,
    point_code: str,
    submission_id: int,
    slot: datetime,
    deadline: datetime,
    reasons: list[str],
    now: datetime,
    *,
    regulator: str,
) -> None:
    """The alert-flagged event of a slot held for a person, recorded in the pass that held it.

    The alert it raises lasts while the slot stays ``review``; its severity rises to critical as
    the deadline nears (the fact's ``deadline``; see ``central.telemetry.alerts.regulator_events``).
    """
    record_event(
        conn,
        now,
        "submission.held",
        f"{point_code} medición {slot.isoformat()} retenida para revisión,"
        f" plazo {deadline.isoformat()}: {'; '.join(reasons)}",
        point_id=point_id,
        regulator=regulator,
        submission_id=submission_id,
        severity=hold_severity(deadline, now),
        alert=True,
        deadline=deadline.isoformat(),
        reasons=reasons,
    )


def count_by_regulator(conn: Connection, kind: str) -> dict[str, int]:
    """How many events of ``kind`` the log holds, per regulator (for /metrics)."""
    rows = conn.fetchall(
        "SELECT regulator, COUNT(*) AS n FROM compliance_events WHERE kind = :kind"
        " GROUP BY regulator ORDER BY regulator",
        {"kind": kind},
    )
    return {row["regulator"]: int(row["n"]) for row in rows}


def _event(row: dict[str, Any]) -> ComplianceEvent:
    return ComplianceEvent(**{**row, "detail": json.loads(row["detail"])})


def list_events(
    conn: Connection,
    paging: PageQuery,
    *,
    point_ids: Collection[int] | None,
    point_code: str | None = None,
    kind: str | None = None,
    alert: bool | None = None,
    span: TimeRange = TimeRange(None, None),
) -> Page[ComplianceEvent]:
    """Newest first; ``point_ids`` None means every point (and installation-wide events);
    ``span``: events at or after its start and before its end."""
    clauses, params = [], {}
    if point_ids is not None:
        ids = sorted(point_ids) or [-1]
        clauses.append(f"e.point_id IN ({', '.join(str(int(i)) for i in ids)})")
    tests = {
        "code": f"e.point_id = {lookups.point_id_sql(':code')}",
        "kind": "e.kind = :kind",
        "alert": "e.alert = :alert",
    }
    for name, value in (("code", point_code), ("kind", kind), ("alert", alert)):
        if value is not None:
            clauses.append(tests[name])
            params[name] = value
    for clause, name, value in (("e.at >= :at_from", "at_from", span.start), ("e.at < :at_to", "at_to", span.end)):
        if value is not None:
            clauses.append(clause)
            params[name] = value
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    sql = (
        f"SELECT e.id, e.at, {lookups.point_code_sql('e.point_id')} AS point, e.regulator, e.submission_id, e.kind,"
        f" e.severity, e.alert, e.actor, e.message, e.detail FROM compliance_events e{where}"
        " ORDER BY e.id DESC"
    )
    return fetch_page(conn, sql, params, paging, _event)
