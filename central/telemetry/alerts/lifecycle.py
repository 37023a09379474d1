"""Alert lifecycle: open -> acknowledged -> cleared, one live alert per (rule, subject).

Pure transitions over :class:`Alert` records. The caller (the db layer) loads the live
alert of a (rule, subject) -- status open or acknowledged, at most one, which a partial
unique index can enforce -- applies signals, and upserts every alert it gets back by
``id``. A raise while an alert is live updates it; only opening, escalating and clearing
are worth a notification, so a storm of readings is one alert and one message.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from . import messages
from .state import Signal, SignalAction
from .terms import Severity


class LifecycleError(ValueError):
    """A transition the lifecycle does not allow (e.g. acknowledging a cleared alert)."""


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    CLEARED = "cleared"


class AlertEvent(StrEnum):
    OPENED = "opened"
    UPDATED = "updated"  # raise on a live alert: new value, same alert, no message
    ESCALATED = "escalated"  # severity rose (e.g. a submission late 48 h -> 72 h)
    ACKNOWLEDGED = "acknowledged"
    CLEARED = "cleared"


NOTIFY_EVENTS = frozenset({AlertEvent.OPENED, AlertEvent.ESCALATED, AlertEvent.CLEARED})


class Alert(BaseModel):
    """One alert with its history fields; the id is made here so new alerts can be upserted."""

    model_config = ConfigDict(extra="forbid")

    id: UUID = Field(default_factory=uuid4)
    rule_id: int
    kind: str
    subject: str  # point code or gateway name
    severity: Severity
    status: AlertStatus = AlertStatus.OPEN
    message: str
    opened_at: AwareDatetime
    first_value: float | None = None
    last_value: float | None = None
    last_seen: AwareDatetime
    acknowledged_at: AwareDatetime | None = None
    acknowledged_by: str | None = None
    ack_comment: str | None = None
    cleared_at: AwareDatetime | None = None
    clear_message: str | None = None

    @property
    def live(self) -> bool:
        return self.status is not AlertStatus.CLEARED


class Transition(BaseModel):
    """What happened to one alert, and whether people should hear about it."""

    model_config = ConfigDict(frozen=True)

    alert: Alert
    event: AlertEvent

    @property
    def notify(self) -> bool:
        return self.event in NOTIFY_EVENTS


def apply_signal(live: Alert | None, signal: Signal, *, rule_id: int, kind: str, subject: str) -> Transition | None:
    """Apply one signal to the live alert of (rule_id, subject), or to none.

    Returns None when nothing changes (a clear or a hold with no live alert: a hold only
    keeps a live alert's last value and time current).
    """
    if live is not None and not live.live:
        raise LifecycleError(f"la alerta {live.id} está cerrada; pase la alerta viva de la regla y el sujeto, o None")
    if signal.action is SignalAction.CLEAR:
        return None if live is None else _clear(live, signal)
    if signal.action is SignalAction.HOLD:
        return None if live is None else _update(live, signal)
    if live is None:
        return Transition(alert=_open(signal, rule_id, kind, subject), event=AlertEvent.OPENED)
    return _update(live, signal)


def apply_signals(
    live: Alert | None, signals: Iterable[Signal], *, rule_id: int, kind: str, subject: str
) -> list[Transition]:
    """Apply signals in order; a clear followed by a raise opens a new alert."""
    transitions: list[Transition] = []
    for signal in signals:
        transition = apply_signal(live, signal, rule_id=rule_id, kind=kind, subject=subject)
        if transition is None:
            continue
        transitions.append(transition)
        live = transition.alert if transition.alert.live else None
    return transitions


def _open(signal: Signal, rule_id: int, kind: str, subject: str) -> Alert:
    return Alert(
        rule_id=rule_id,
        kind=kind,
        subject=subject,
        severity=signal.severity,
        message=signal.message,
        opened_at=signal.ts,
        first_value=signal.value,
        last_value=signal.value,
        last_seen=signal.ts,
    )


def _update(live: Alert, signal: Signal) -> Transition:
    rose = signal.severity.rank > live.severity.rank
    alert = live.model_copy(
        update={
            "severity": signal.severity,
            "message": signal.message,
            "last_value": signal.value,
            "last_seen": max(live.last_seen, signal.ts),
        }
    )
    return Transition(alert=alert, event=AlertEvent.ESCALATED if rose else AlertEvent.UPDATED)


def _clear(live: Alert, signal: Signal) -> Transition:
    alert = live.model_copy(
        update={"status": AlertStatus.CLEARED, "cleared_at": signal.ts, "clear_message": signal.message}
    )
    return Transition(alert=alert, event=AlertEvent.CLEARED)


def acknowledge(alert: Alert, *, by: str, at: datetime, comment: str | None = None) -> Transition:
    """An operator takes charge of a live alert; it stays live until its condition ends."""
    if not by.strip():
        raise LifecycleError("para reconocer hace falta el nombre de quien reconoce")
    if alert.status is AlertStatus.CLEARED:
        raise LifecycleError(
            f"la alerta {alert.id} se cerró a las {messages.utc(alert.cleared_at)}; no hay nada que reconocer"
        )
    if alert.status is AlertStatus.ACKNOWLEDGED:
        raise LifecycleError(
            f"{alert.acknowledged_by} ya reconoció la alerta {alert.id} a las {messages.utc(alert.acknowledged_at)}"
        )
    updated = alert.model_copy(
        update={
            "status": AlertStatus.ACKNOWLEDGED,
            "acknowledged_at": at,
            "acknowledged_by": by,
            "ack_comment": comment,
        }
    )
    return Transition(alert=updated, event=AlertEvent.ACKNOWLEDGED)


_SEVERITY_NAMES = {Severity.INFO: "Aviso", Severity.WARNING: "Advertencia", Severity.CRITICAL: "Crítica"}
_EVENT_NAMES = {AlertEvent.OPENED: "Alerta", AlertEvent.ESCALATED: "Alerta escalada", AlertEvent.CLEARED: "Normalizado"}


def notice(transition: Transition) -> tuple[str, str]:
    """The (subject line, body) people receive for a transition worth notifying."""
    alert = transition.alert
    label = _EVENT_NAMES.get(transition.event, transition.event.value)
    title = f"[Caudal] {label} {_SEVERITY_NAMES[alert.severity].lower()}: {alert.subject}"
    lines = [
        alert.clear_message if transition.event is AlertEvent.CLEARED else alert.message,
        "",
        f"Punto o gateway: {alert.subject}",
        f"Severidad: {_SEVERITY_NAMES[alert.severity]}",
        f"Abierta: {messages.utc(alert.opened_at)}",
    ]
    if alert.cleared_at is not None:
        lines.append(f"Cerrada: {messages.utc(alert.cleared_at)}")
    if alert.acknowledged_by is not None:
        who = f"Reconocida por {alert.acknowledged_by}"
        lines.append(f"{who}: {alert.ack_comment}" if alert.ack_comment else who)
    return title, "\n".join(line or "" for line in lines)
