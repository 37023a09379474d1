"""Alerts in the database: the lifecycle's transitions written race-free, and the queries.

Two replicas may evaluate the same rule at once (two timers, or an ingest on each). What
keeps them from notifying twice is how a transition is written, in the same transaction
as the notifications it queues:

- opening inserts a row, and the partial unique index ``alerts_one_live`` allows one live
  alert per (rule, subject): the second replica's insert fails;
- escalating, updating and clearing are conditional UPDATEs on what was read (still live,
  same severity): the second replica's update touches no row.

Either way :class:`AlertRace` is raised and the loser's transaction rolls back with its
notifications. Evaluation never writes the acknowledgement columns and acknowledging
never writes the evaluation columns, so an operator's ack and an evaluation never undo
each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, Field

from central.core import lookups
from central.core.auth.models import User
from central.db import Connection, IntegrityError, in_list
from central.pagination import Page, PageQuery, fetch_page

from .lifecycle import Alert, AlertEvent, AlertStatus, Transition
from .rules import Severity

_COLUMNS = (
    "id, rule_id, kind, subject, severity, status, message, opened_at, first_value, last_value,"
    " last_seen_at AS last_seen, acknowledged_by, acknowledged_at, ack_comment, cleared_at, clear_message"
)
"""An :class:`Alert`'s fields under its own names: a row of them validates as one."""


class AlertRace(Exception):
    """Another evaluation changed this alert first; roll back and let the next pass look again."""


def alert_of(row: dict[str, Any]) -> Alert:
    """The alert of a row of :data:`_COLUMNS`."""
    return Alert.model_validate(row)


def _live_rows(conn: Connection, rule_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The live (open or acknowledged) alerts' rows of these rules."""
    if not rule_ids:
        return []
    names = {f"r{i}": rule_id for i, rule_id in enumerate(rule_ids)}
    return conn.fetchall(
        f"SELECT {_COLUMNS} FROM alerts WHERE status <> 'cleared' AND rule_id IN ({', '.join(':' + n for n in names)})",
        names,
    )


def live_alerts(conn: Connection, rule_ids: Sequence[int]) -> dict[int, Alert]:
    """The live alert of each rule that has one."""
    return {row["rule_id"]: alert_of(row) for row in _live_rows(conn, rule_ids)}


def live_by_kind(conn: Connection, rule_ids: Sequence[int]) -> dict[tuple[int, str], Alert]:
    """The live alerts of these rules keyed by (rule, alert kind): a ``compliance_event`` rule
    has one per event kind, every other rule at most one (of its own kind)."""
    return {(row["rule_id"], row["kind"]): alert_of(row) for row in _live_rows(conn, rule_ids)}


def write_transition(
    conn: Connection, transition: Transition, before: Alert | None, *, point_id: int | None, gateway_id: int | None
) -> None:
    """Persist one transition of the lifecycle; raises :class:`AlertRace` if another writer won."""
    alert = transition.alert
    if transition.event is AlertEvent.OPENED:
        _insert(conn, alert, point_id, gateway_id)
        return
    if before is None:
        raise ValueError(f"a {transition.event.value} transition needs the alert it started from")
    if transition.event is AlertEvent.CLEARED:
        touched = conn.execute(
            "UPDATE alerts SET status = 'cleared', cleared_at = :at, clear_message = :message"
            " WHERE id = :id AND status <> 'cleared'",
            {"id": str(alert.id), "at": alert.cleared_at, "message": alert.clear_message},
        )
    else:
        touched = conn.execute(
            "UPDATE alerts SET severity = :severity, message = :message, last_value = :value, last_seen_at = :seen"
            " WHERE id = :id AND status <> 'cleared' AND severity = :before",
            {
                "id": str(alert.id),
                "severity": alert.severity.value,
                "message": alert.message,
                "value": alert.last_value,
                "seen": alert.last_seen,
                "before": before.severity.value,
            },
        )
    if touched != 1:
        raise AlertRace(f"alert {alert.id} changed under this evaluation ({transition.event.value})")


def _insert(conn: Connection, alert: Alert, point_id: int | None, gateway_id: int | None) -> None:
    try:
        conn.execute(
            "INSERT INTO alerts (id, rule_id, kind, subject, point_id, gateway_id, severity, status, message,"
            " opened_at, first_value, last_value, last_seen_at)"
            " VALUES (:id, :rule, :kind, :subject, :point, :gateway, :severity, 'open', :message, :opened, :first,"
            " :last, :seen)",
            {
                "id": str(alert.id),
                "rule": alert.rule_id,
                "kind": alert.kind,
                "subject": alert.subject,
                "point": point_id,
                "gateway": gateway_id,
                "severity": alert.severity.value,
                "message": alert.message,
                "opened": alert.opened_at,
                "first": alert.first_value,
                "last": alert.last_value,
                "seen": alert.last_seen,
            },
        )
    except IntegrityError as exc:
        raise AlertRace(f"rule {alert.rule_id} of {alert.subject} already has a live alert") from exc


def retire(conn: Connection, rule_ids: Sequence[int], message: str, now: datetime) -> None:
    """Clear, without notifying, the live alerts of rules that were changed or deleted."""
    for rule_id in rule_ids:
        conn.execute(
            "UPDATE alerts SET status = 'cleared', cleared_at = :now, clear_message = :message"
            " WHERE rule_id = :rule AND status <> 'cleared'",
            {"rule": rule_id, "now": now, "message": message},
        )


def acknowledge_row(conn: Connection, alert: Alert) -> bool:
    """Write an acknowledgement made by :func:`lifecycle.acknowledge`; False if it was no longer open."""
    return (
        conn.execute(
            "UPDATE alerts SET status = 'acknowledged', acknowledged_by = :by, acknowledged_at = :at, ack_comment = :c"
            " WHERE id = :id AND status = 'open'",
            {"id": str(alert.id), "by": alert.acknowledged_by, "at": alert.acknowledged_at, "c": alert.ack_comment},
        )
        == 1
    )


# --- queries ------------------------------------------------------------------------------------


class AlertOut(BaseModel):
    id: UUID
    rule_id: int | None = Field(description="None once the rule was deleted")
    kind: str
    subject: str = Field(description="Point code or gateway name")
    point: str | None
    gateway: str | None
    severity: Severity
    status: AlertStatus
    message: str
    opened_at: AwareDatetime
    first_value: float | None
    last_value: float | None
    last_seen_at: AwareDatetime
    acknowledged_by: str | None
    acknowledged_at: AwareDatetime | None
    ack_comment: str | None
    cleared_at: AwareDatetime | None
    clear_message: str | None


class AlertFilter(BaseModel):
    status: list[AlertStatus] | None = None
    severity: list[Severity] | None = None
    point: str | None = None
    live_from: datetime | None = None  # alerts live at some time in [live_from, live_to)
    live_to: datetime | None = None


_SELECT_OUT = (
    f"SELECT a.id, a.rule_id, a.kind, a.subject, {lookups.point_code_sql('a.point_id')} AS point,"
    f" {lookups.gateway_name_sql('a.gateway_id')} AS gateway, a.severity, a.status, a.message,"
    " a.opened_at, a.first_value, a.last_value, a.last_seen_at, a.acknowledged_by, a.acknowledged_at, a.ack_comment,"
    " a.cleared_at, a.clear_message FROM alerts a"
)
_VISIBLE = (
    f"(a.point_id IN {lookups.visible_point_ids_sql(':user')}"
    f" OR a.gateway_id IN {lookups.visible_gateway_ids_sql(':user')})"
)


def _in(column: str, prefix: str, values: Sequence[str]) -> tuple[str, dict[str, Any]]:
    marks, names = in_list(prefix, values)
    return f"{column} IN ({marks})", names


def _where(user: User, chosen: AlertFilter) -> tuple[str, dict[str, Any]]:
    clauses, params = ["1 = 1"], {}
    if not user.is_admin:
        clauses.append(_VISIBLE)
        params["user"] = user.id
    for column, values in (("a.status", chosen.status), ("a.severity", chosen.severity)):
        if values:
            clause, names = _in(column, column[2:], [v.value for v in values])
            clauses.append(clause)
            params.update(names)
    if chosen.point is not None:
        clauses.append(f"a.point_id = {lookups.point_id_sql(':point')}")
        params["point"] = chosen.point
    if chosen.live_from is not None:
        clauses.append("(a.cleared_at IS NULL OR a.cleared_at >= :live_from)")
        params["live_from"] = chosen.live_from
    if chosen.live_to is not None:
        clauses.append("a.opened_at < :live_to")
        params["live_to"] = chosen.live_to
    return " AND ".join(clauses), params


def list_alerts(conn: Connection, user: User, chosen: AlertFilter, paging: PageQuery) -> Page[AlertOut]:
    """Alerts ``user`` may see (a gateway's: admins and whoever sees one of its points), newest first."""
    where, params = _where(user, chosen)
    sql = f"{_SELECT_OUT} WHERE {where} ORDER BY a.opened_at DESC, a.id"
    return fetch_page(conn, sql, params, paging, lambda row: AlertOut(**row))


def visible_alert(conn: Connection, user: User, alert_id: UUID) -> AlertOut | None:
    where, params = _where(user, AlertFilter())
    row = conn.fetchone(f"{_SELECT_OUT} WHERE a.id = :id AND {where}", {**params, "id": str(alert_id)})
    return None if row is None else AlertOut(**row)


def load_alert(conn: Connection, alert_id: UUID) -> Alert | None:
    row = conn.fetchone(f"SELECT {_COLUMNS} FROM alerts WHERE id = :id", {"id": str(alert_id)})
    return None if row is None else alert_of(row)


def open_by_point(conn: Connection) -> dict[int, int]:
    """How many open alerts each point has (points without any are absent)."""
    rows = conn.fetchall(
        "SELECT point_id, COUNT(*) AS n FROM alerts WHERE status = 'open' AND point_id IS NOT NULL GROUP BY point_id"
    )
    return {row["point_id"]: int(row["n"]) for row in rows}


def counts(conn: Connection) -> dict[tuple[str, str], int]:
    """Alerts by (status, severity), every combination present (zeros included)."""
    found = {
        (row["status"], row["severity"]): row["n"]
        for row in conn.fetchall("SELECT status, severity, COUNT(*) AS n FROM alerts GROUP BY status, severity")
    }
    return {
        (status.value, severity.value): int(found.get((status.value, severity.value), 0))
        for status in AlertStatus
        for severity in Severity
    }
