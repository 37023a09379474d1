"""The submission ledger's state machine for DGA slots (pure: no storage, no clock reads).

One submission per (work, slot). Its life:

    (new) --ready--> pending --send_started--> sending --reply--> accepted | rejected |
          --held--> review                                  retry_scheduled | unrecoverable |
          --no_data--> no_data                              needs_review

* ``accepted``, ``discarded`` and ``shadowed`` are terminal: nothing leads out of them, so an
  accepted measurement is never sent again (rule 4: a resend can get the centre blocked).
* ``send_started`` is recorded BEFORE the request leaves and the reply AFTER it, so a crash
  in between leaves ``sending`` behind; :func:`resolve_in_flight` decides what to do with it
  without a blind resend.
* Retry (rule 3): after a non-00 reply (``rejected``) or no answer (``retry_scheduled``) the
  next attempt is at the same UTC-4 time of day on the following day, i.e. failure time + 24 h
  (UTC-4 has no daylight saving, so the two are the same), and daily after that.
* Backlog (rule 2) and the one-hour deadline (rule 1): see :func:`choose_send`.

Rules are numbered as in docs/dga.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from compliance.outcome import Outcome, OutcomeKind

RETRY_AFTER = timedelta(days=1)
CHECK_AGAIN_AFTER = timedelta(minutes=15)
BACKLOG_THRESHOLD = timedelta(hours=2)
BACKLOG_SPACING = timedelta(minutes=5)


class State(StrEnum):
    PENDING = "pending"  # ready to send (values passed validation or a person approved them)
    REVIEW = "review"  # validation failed: waits for a person to approve, correct or discard
    SENDING = "sending"  # an attempt was recorded and may be in flight
    ACCEPTED = "accepted"  # the DGA holds it (comprobante known); terminal
    RETRY_SCHEDULED = "retry_scheduled"  # no answer; resend the next day
    REJECTED = "rejected"  # a non-00 answer; resend the next day
    UNRECOVERABLE = "unrecoverable"  # informant not registered for the work; a person must fix it
    NEEDS_REVIEW = "needs_review"  # "00" without comprobante or an unconfirmed check; never resent blindly
    NO_DATA = "no_data"  # nothing to declare: a visible gap
    DISCARDED = "discarded"  # a person decided not to send it; terminal
    SHADOWED = "shadowed"  # shadow mode: built and logged, never sent; terminal


TERMINAL = frozenset({State.ACCEPTED, State.DISCARDED, State.SHADOWED})
SENDABLE = frozenset({State.PENDING, State.RETRY_SCHEDULED, State.REJECTED})


class EventKind(StrEnum):
    READY = "ready"
    HELD = "held"
    NO_DATA = "no_data"
    SHADOW_LOGGED = "shadow_logged"
    SEND_STARTED = "send_started"
    REPLY = "reply"
    IN_FLIGHT_UNANSWERED = "in_flight_unanswered"
    CHECK_CONFIRMED = "check_confirmed"
    CHECK_NOT_FOUND = "check_not_found"
    CHECK_UNKNOWN = "check_unknown"
    PERSON_APPROVE = "person_approve"
    PERSON_CORRECT = "person_correct"
    PERSON_DISCARD = "person_discard"
    PERSON_REQUEUE = "person_requeue"
    PERSON_CONFIRM = "person_confirm"


@dataclass(frozen=True)
class Event:
    """Something that happened to a submission. ``outcome`` for REPLY; ``comprobante`` for
    CHECK_CONFIRMED and PERSON_CONFIRM; ``retry_at`` for a REPLY of a regulator whose resend
    rule is not the DGA's following day (the SMA's backoff within the day)."""

    kind: EventKind
    outcome: Outcome | None = None
    comprobante: str | None = None
    retry_at: datetime | None = None  # for REPLY: the regulator's own next attempt after a failure


@dataclass(frozen=True)
class Transition:
    """The submission after an event.

    ``next_attempt_at``: when the worker acts on it next without a person: send it
    (pending, retry_scheduled, rejected) or, for ``sending``, treat the attempt as stuck and
    resolve it with :func:`resolve_in_flight`. ``None``: nothing happens until a person acts
    (or, for terminal states, ever).
    """

    state: State
    next_attempt_at: datetime | None = None
    comprobante: str | None = None
    note: str = ""


class IllegalTransition(ValueError):
    """An event that may not happen in the submission's current state (nothing is changed)."""


def retry_at(failed_at: datetime) -> datetime:
    """The next attempt after a failure: the following day, same UTC-4 time of day."""
    return failed_at + RETRY_AFTER


def _after_reply(outcome: Outcome, now: datetime, retry: datetime | None = None) -> Transition:
    if outcome.kind is OutcomeKind.ACCEPTED:
        return Transition(State.ACCEPTED, None, outcome.comprobante, outcome.detail)
    if outcome.kind is OutcomeKind.UNRECOVERABLE:
        return Transition(State.UNRECOVERABLE, None, None, outcome.detail)
    if outcome.kind is OutcomeKind.NEEDS_REVIEW:
        return Transition(State.NEEDS_REVIEW, None, outcome.comprobante, outcome.detail)
    state = State.REJECTED if outcome.answered else State.RETRY_SCHEDULED
    return Transition(state, retry or retry_at(now), None, outcome.detail)


def _person(event: Event, now: datetime) -> Transition:
    if event.kind in (EventKind.PERSON_APPROVE, EventKind.PERSON_CORRECT, EventKind.PERSON_REQUEUE):
        return Transition(State.PENDING, now, None, event.kind.value)
    if event.kind is EventKind.PERSON_DISCARD:
        return Transition(State.DISCARDED, None, None, "descartada por una persona")
    return Transition(State.ACCEPTED, None, event.comprobante, "comprobante confirmado por una persona")


def _evaluation(event: Event, now: datetime) -> Transition:
    state = {EventKind.READY: State.PENDING, EventKind.HELD: State.REVIEW, EventKind.NO_DATA: State.NO_DATA}[event.kind]
    return Transition(state, now if state is State.PENDING else None)


_EVALUATION = frozenset({EventKind.READY, EventKind.HELD, EventKind.NO_DATA})
_IN_FLIGHT = frozenset(
    {EventKind.IN_FLIGHT_UNANSWERED, EventKind.CHECK_CONFIRMED, EventKind.CHECK_NOT_FOUND, EventKind.CHECK_UNKNOWN}
)
_ALLOWED: dict[EventKind, frozenset[State | None]] = {
    EventKind.READY: frozenset({None, State.NO_DATA}),
    EventKind.HELD: frozenset({None, State.NO_DATA}),
    EventKind.NO_DATA: frozenset({None, State.NO_DATA}),
    EventKind.SHADOW_LOGGED: frozenset({State.PENDING}),
    EventKind.SEND_STARTED: SENDABLE,
    EventKind.REPLY: frozenset({State.SENDING}),
    EventKind.IN_FLIGHT_UNANSWERED: frozenset({State.SENDING}),
    EventKind.CHECK_CONFIRMED: frozenset({State.SENDING}),
    EventKind.CHECK_NOT_FOUND: frozenset({State.SENDING}),
    EventKind.CHECK_UNKNOWN: frozenset({State.SENDING}),
    EventKind.PERSON_APPROVE: frozenset({State.REVIEW}),
    EventKind.PERSON_CORRECT: frozenset({State.REVIEW}) | SENDABLE,
    # A plausible measurement not yet delivered (pending, retry_scheduled, rejected, unrecoverable) is
    # never discarded: what was measured is declared. Held values, gaps, and sends the DGA answered
    # without a comprobante (it may already hold them) may be.
    EventKind.PERSON_DISCARD: frozenset({State.REVIEW, State.NO_DATA, State.NEEDS_REVIEW}),
    EventKind.PERSON_REQUEUE: frozenset({State.UNRECOVERABLE, State.NEEDS_REVIEW}),
    EventKind.PERSON_CONFIRM: frozenset({State.NEEDS_REVIEW}),
}


def _require(event: Event) -> None:
    if event.kind is EventKind.REPLY and event.outcome is None:
        raise IllegalTransition("a reply event needs the classified outcome")
    needs_comprobante = event.kind in (EventKind.CHECK_CONFIRMED, EventKind.PERSON_CONFIRM)
    if needs_comprobante and not event.comprobante:
        raise IllegalTransition(f"{event.kind.value} needs the comprobante")


def transition(state: State | None, event: Event, now: datetime) -> Transition:
    """The submission after ``event`` at ``now``; ``state`` None means not yet in the ledger.

    Raises :class:`IllegalTransition` naming both when the event cannot happen in ``state``.
    """
    if state not in _ALLOWED[event.kind]:
        shown = "new" if state is None else state.value
        raise IllegalTransition(f"event {event.kind.value} is not allowed for a submission in state {shown}")
    _require(event)
    if event.kind in _EVALUATION:
        return _evaluation(event, now)
    if event.kind is EventKind.SHADOW_LOGGED:
        return Transition(State.SHADOWED, None, None, "modo shadow: armada y registrada, no enviada")
    if event.kind is EventKind.SEND_STARTED:
        return Transition(State.SENDING, now + CHECK_AGAIN_AFTER, None, "intento registrado antes del envío")
    if event.kind is EventKind.REPLY:
        return _after_reply(event.outcome, now, event.retry_at)  # type: ignore[arg-type]
    return _in_flight(event, now) if event.kind in _IN_FLIGHT else _person(event, now)


def _in_flight(event: Event, now: datetime) -> Transition:
    if event.kind is EventKind.CHECK_CONFIRMED:
        return Transition(State.ACCEPTED, None, event.comprobante, "confirmada por la consulta GET a la DGA")
    if event.kind is EventKind.CHECK_NOT_FOUND:
        return Transition(State.NEEDS_REVIEW, None, None, "la consulta GET no encontró un comprobante conocido")
    if event.kind is EventKind.CHECK_UNKNOWN:
        return Transition(
            State.SENDING, now + CHECK_AGAIN_AFTER, None, "consulta GET sin respuesta; se consulta de nuevo"
        )
    return Transition(
        State.RETRY_SCHEDULED, retry_at(now), None, "intento encontrado en curso sin respuesta registrada"
    )


class InFlightAction(StrEnum):
    CHECK = "check"  # GET the known comprobante; CHECK_* event with the result
    RESEND_LATER = "resend_later"  # IN_FLIGHT_UNANSWERED: resend on the retry schedule


@dataclass(frozen=True)
class InFlightDecision:
    action: InFlightAction
    at: datetime
    reason: str


def resolve_in_flight(known_comprobante: str | None, now: datetime) -> InFlightDecision:
    """What to do with a submission found ``sending`` (e.g. after a restart), never a blind resend.

    With a comprobante already recorded for the attempt, the DGA is asked by GET whether it
    holds it. Without one nobody knows whether the request left: it is treated as "no
    answer" (rule 3, resend the following day), and the resend relies on the DGA answering
    "Ya existe ... Comprobante: X" if the first one did land.
    """
    if known_comprobante:
        return InFlightDecision(
            InFlightAction.CHECK, now, f"comprobante {known_comprobante} registrado; se confirma por GET"
        )
    reason = "sin respuesta registrada; se reenvía según el calendario de reintentos"
    return InFlightDecision(InFlightAction.RESEND_LATER, retry_at(now), reason)


def backlog_age(oldest_unsent_slot: datetime | None, now: datetime) -> timedelta:
    """How far behind sending is: the age of the oldest due, unsent slot (zero if none)."""
    return timedelta(0) if oldest_unsent_slot is None else max(timedelta(0), now - oldest_unsent_slot)


Deadline = Callable[[datetime], datetime]  # a regulator's deadline of a slot (the DGA's: compliance.dga.slots)


def is_current(slot: datetime, now: datetime, deadline: Deadline) -> bool:
    """Whether ``slot`` can still reach the regulator within its deadline if sent now."""
    return now <= deadline(slot)


def choose_send(
    sendable: Iterable[datetime], last_send_at: datetime | None, now: datetime, deadline: Deadline
) -> datetime | None:
    """The slot of a work to send now, or ``None`` to wait (rules 1 and 2, docs/dga.md).

    ``sendable``: the work's slots that may be sent now. With a backlog of two hours or more
    (the oldest of them), sends are at least five minutes apart (counted from the previous
    send of the work); each of those steps sends a current slot (one still within its
    deadline) if there is one, otherwise the oldest. So a month-long backlog drains oldest
    first while every new measurement still goes within its hour. Without such a backlog
    everything may go now, oldest first (the client's one-per-second pacing still applies).
    """
    slots = sorted(sendable)
    if not slots or backlog_age(slots[0], now) < BACKLOG_THRESHOLD:
        return slots[0] if slots else None
    if last_send_at is not None and now < last_send_at + BACKLOG_SPACING:
        return None
    current = [slot for slot in slots if is_current(slot, now, deadline)]
    return current[0] if current else slots[0]


@dataclass(frozen=True)
class SlotRecord:
    """What the ledger holds about a slot, as far as the failure report needs it."""

    slot: datetime
    state: State
    accepted_at: datetime | None = None


@dataclass(frozen=True)
class MissedSlot:
    """A slot not accepted within its deadline: a line of the informe de fallas."""

    slot: datetime
    deadline: datetime
    state: State | None
    accepted_at: datetime | None


def missed_deadlines(
    slots: Iterable[datetime],
    records: Mapping[datetime, SlotRecord],
    now: datetime,
    deadline: Deadline,
) -> list[MissedSlot]:
    """Slots (of a live work) whose deadline passed before ``now`` without an acceptance by then.

    A slot with no ledger row at all is missed too. Shadowed slots never were an obligation.
    Acceptance time is when Caudal learned of it; a late "Ya existe" therefore counts as late.
    """
    missed: list[MissedSlot] = []
    for slot in sorted(slots):
        limit = deadline(slot)
        record = records.get(slot)
        if limit >= now or (record is not None and record.state is State.SHADOWED):
            continue
        on_time = record is not None and record.accepted_at is not None and record.accepted_at <= limit
        if not on_time:
            state = None if record is None else record.state
            missed.append(MissedSlot(slot, limit, state, None if record is None else record.accepted_at))
    return missed
