from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance.dga.slots import deadline
from compliance.ledger import (
    TERMINAL,
    Event,
    EventKind,
    IllegalTransition,
    InFlightAction,
    InFlightDecision,
    MissedSlot,
    SlotRecord,
    State,
    Transition,
    backlog_age,
    choose_send,
    missed_deadlines,
    resolve_in_flight,
    transition,
)
from compliance.outcome import Outcome, OutcomeKind

NOW = datetime(2026, 11, 28, 13, 10, tzinfo=UTC)
TOMORROW = NOW + timedelta(days=1)
E = EventKind


def reply(kind: OutcomeKind, comprobante=None, answered=True, detail="d") -> Event:
    return Event(E.REPLY, Outcome(kind, comprobante, answered, detail))


@pytest.mark.parametrize(
    ("state", "event", "expected"),
    [
        (None, Event(E.READY), Transition(State.PENDING, NOW)),
        (None, Event(E.HELD), Transition(State.REVIEW, None)),
        (None, Event(E.NO_DATA), Transition(State.NO_DATA, None)),
        (State.NO_DATA, Event(E.READY), Transition(State.PENDING, NOW)),
        (State.NO_DATA, Event(E.HELD), Transition(State.REVIEW, None)),
        (
            State.PENDING,
            Event(E.SHADOW_LOGGED),
            Transition(State.SHADOWED, None, None, "modo shadow: armada y registrada, no enviada"),
        ),
        (
            State.PENDING,
            Event(E.SEND_STARTED),
            Transition(State.SENDING, NOW + timedelta(minutes=15), None, "intento registrado antes del envío"),
        ),
        (
            State.RETRY_SCHEDULED,
            Event(E.SEND_STARTED),
            Transition(State.SENDING, NOW + timedelta(minutes=15), None, "intento registrado antes del envío"),
        ),
        (
            State.REJECTED,
            Event(E.SEND_STARTED),
            Transition(State.SENDING, NOW + timedelta(minutes=15), None, "intento registrado antes del envío"),
        ),
        (State.SENDING, reply(OutcomeKind.ACCEPTED, "C1"), Transition(State.ACCEPTED, None, "C1", "d")),
        (State.SENDING, reply(OutcomeKind.RETRY), Transition(State.REJECTED, TOMORROW, None, "d")),
        (
            State.SENDING,
            reply(OutcomeKind.RETRY, answered=False),
            Transition(State.RETRY_SCHEDULED, TOMORROW, None, "d"),
        ),
        (State.SENDING, reply(OutcomeKind.UNRECOVERABLE), Transition(State.UNRECOVERABLE, None, None, "d")),
        (State.SENDING, reply(OutcomeKind.NEEDS_REVIEW), Transition(State.NEEDS_REVIEW, None, None, "d")),
        (
            State.SENDING,
            Event(E.IN_FLIGHT_UNANSWERED),
            Transition(State.RETRY_SCHEDULED, TOMORROW, None, "intento encontrado en curso sin respuesta registrada"),
        ),
        (
            State.SENDING,
            Event(E.CHECK_CONFIRMED, comprobante="C2"),
            Transition(State.ACCEPTED, None, "C2", "confirmada por la consulta GET a la DGA"),
        ),
        (
            State.SENDING,
            Event(E.CHECK_NOT_FOUND),
            Transition(State.NEEDS_REVIEW, None, None, "la consulta GET no encontró un comprobante conocido"),
        ),
        (
            State.SENDING,
            Event(E.CHECK_UNKNOWN),
            Transition(
                State.SENDING, NOW + timedelta(minutes=15), None, "consulta GET sin respuesta; se consulta de nuevo"
            ),
        ),
        (State.REVIEW, Event(E.PERSON_APPROVE), Transition(State.PENDING, NOW, None, "person_approve")),
        (State.REVIEW, Event(E.PERSON_CORRECT), Transition(State.PENDING, NOW, None, "person_correct")),
        (State.REVIEW, Event(E.PERSON_DISCARD), Transition(State.DISCARDED, None, None, "descartada por una persona")),
        (State.UNRECOVERABLE, Event(E.PERSON_REQUEUE), Transition(State.PENDING, NOW, None, "person_requeue")),
        (State.NEEDS_REVIEW, Event(E.PERSON_REQUEUE), Transition(State.PENDING, NOW, None, "person_requeue")),
        (
            State.NEEDS_REVIEW,
            Event(E.PERSON_CONFIRM, comprobante="C3"),
            Transition(State.ACCEPTED, None, "C3", "comprobante confirmado por una persona"),
        ),
        (State.NO_DATA, Event(E.PERSON_DISCARD), Transition(State.DISCARDED, None, None, "descartada por una persona")),
        (
            State.NEEDS_REVIEW,
            Event(E.PERSON_DISCARD),
            Transition(State.DISCARDED, None, None, "descartada por una persona"),
        ),
        (State.PENDING, Event(E.PERSON_CORRECT), Transition(State.PENDING, NOW, None, "person_correct")),
        (State.REJECTED, Event(E.PERSON_CORRECT), Transition(State.PENDING, NOW, None, "person_correct")),
    ],
)
def test_transition_table(state, event, expected):
    assert transition(state, event, NOW) == expected


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (State.ACCEPTED, Event(E.SEND_STARTED)),
        (State.ACCEPTED, reply(OutcomeKind.RETRY)),
        (State.ACCEPTED, Event(E.PERSON_REQUEUE)),
        (State.ACCEPTED, Event(E.PERSON_DISCARD)),
        (State.ACCEPTED, Event(E.READY)),
        (State.DISCARDED, Event(E.SEND_STARTED)),
        (State.SHADOWED, Event(E.SEND_STARTED)),
        (State.NEEDS_REVIEW, Event(E.SEND_STARTED)),  # never resent without a person
        (State.UNRECOVERABLE, Event(E.SEND_STARTED)),
        (State.REVIEW, Event(E.SEND_STARTED)),
        (State.NO_DATA, Event(E.SEND_STARTED)),
        (State.SENDING, Event(E.SEND_STARTED)),  # no blind resend of an attempt in flight
        (State.SENDING, Event(E.PERSON_DISCARD)),
        # a plausible measurement not yet delivered is declared, never discarded
        (State.PENDING, Event(E.PERSON_DISCARD)),
        (State.RETRY_SCHEDULED, Event(E.PERSON_DISCARD)),
        (State.REJECTED, Event(E.PERSON_DISCARD)),
        (State.UNRECOVERABLE, Event(E.PERSON_DISCARD)),
        (State.ACCEPTED, Event(E.PERSON_CORRECT)),  # a declared value cannot be withdrawn
        (State.PENDING, reply(OutcomeKind.ACCEPTED, "C")),
        (State.PENDING, Event(E.READY)),
        (None, Event(E.SEND_STARTED)),
    ],
)
def test_illegal_transitions_are_refused(state, event):
    with pytest.raises(IllegalTransition, match=f"event {event.kind.value} is not allowed"):
        transition(state, event, NOW)


@pytest.mark.parametrize(
    "event",
    [Event(E.REPLY), Event(E.CHECK_CONFIRMED), Event(E.PERSON_CONFIRM, comprobante="")],
    ids=["reply", "check", "confirm"],
)
def test_events_missing_their_data_are_refused(event):
    state = State.NEEDS_REVIEW if event.kind is E.PERSON_CONFIRM else State.SENDING
    with pytest.raises(IllegalTransition, match="needs the"):
        transition(state, event, NOW)


def test_terminal_states_have_no_way_out():
    events = [Event(k, Outcome(OutcomeKind.ACCEPTED, "C"), "C") for k in EventKind]
    for state in TERMINAL:
        for event in events:
            with pytest.raises(IllegalTransition):
                transition(state, event, NOW)


OUTCOMES = st.builds(
    Outcome,
    st.sampled_from(list(OutcomeKind)),
    st.one_of(st.none(), st.text(min_size=1, max_size=5)),
    st.booleans(),
).filter(lambda o: o.kind is not OutcomeKind.ACCEPTED or o.comprobante)  # classify: "00" without one needs review
EVENTS = st.builds(
    Event, st.sampled_from(list(EventKind)), st.one_of(st.none(), OUTCOMES), st.one_of(st.none(), st.just("C9"))
)


ACCEPT_PATH = [Event(E.READY), Event(E.SEND_STARTED), Event(E.REPLY, Outcome(OutcomeKind.ACCEPTED, "C1"))]


@given(st.lists(EVENTS, max_size=10), st.lists(EVENTS, max_size=60))
def test_never_a_send_after_accepted(prefix, suffix):
    events = prefix + ACCEPT_PATH + suffix
    state: State | None = None
    now = NOW
    sends_after_accepted = 0
    accepted = False
    for event in events:
        now += timedelta(minutes=7)
        try:
            result = transition(state, event, now)
        except IllegalTransition:
            continue
        if accepted and event.kind is E.SEND_STARTED:
            sends_after_accepted += 1
        state = result.state
        accepted = accepted or state is State.ACCEPTED
        if state is State.ACCEPTED:
            assert result.comprobante
    assert sends_after_accepted == 0
    if accepted:
        assert state is State.ACCEPTED


@pytest.mark.parametrize(
    ("comprobante", "decision"),
    [
        ("C7", InFlightDecision(InFlightAction.CHECK, NOW, "comprobante C7 registrado; se confirma por GET")),
        (
            None,
            InFlightDecision(
                InFlightAction.RESEND_LATER,
                TOMORROW,
                "sin respuesta registrada; se reenvía según el calendario de reintentos",
            ),
        ),
        (
            "",
            InFlightDecision(
                InFlightAction.RESEND_LATER,
                TOMORROW,
                "sin respuesta registrada; se reenvía según el calendario de reintentos",
            ),
        ),
    ],
)
def test_resolve_in_flight(comprobante, decision):
    assert resolve_in_flight(comprobante, NOW) == decision


def ago(hours: float = 0, minutes: float = 0) -> datetime:
    return NOW - timedelta(hours=hours, minutes=minutes)


@pytest.mark.parametrize(
    ("sendable", "last", "expected"),
    [
        ([], None, None),  # nothing to send
        ([ago(1, 10)], ago(minutes=1), ago(1, 10)),  # no backlog: goes at once
        ([ago(minutes=10), ago(1, 10)], ago(minutes=1), ago(1, 10)),  # no backlog: all go, oldest first
        ([ago(50, 10), ago(minutes=10)], None, ago(minutes=10)),  # never sent: the current one goes now
        ([ago(50, 10), ago(minutes=10)], ago(minutes=4), None),  # backlog: 5 minutes since the last send
        ([ago(50, 10), ago(minutes=10)], ago(minutes=5), ago(minutes=10)),  # a step: the current slot first
        ([ago(50, 10), ago(49, 10)], ago(minutes=5), ago(50, 10)),  # a step without current slot: the oldest
        ([ago(2), ago(1)], ago(minutes=1), None),  # a backlog of exactly two hours is paced
        ([ago(1, 59)], ago(minutes=1), ago(1, 59)),  # under two hours is not
        ([ago(3), ago(minutes=60)], ago(minutes=6), ago(minutes=60)),  # deadline now: still on time, current
        ([ago(3), ago(minutes=61)], ago(minutes=6), ago(3)),  # deadline passed: backlog, oldest first
        ([ago(49, 10), ago(50, 10)], ago(minutes=9), ago(50, 10)),  # order of the input does not matter
    ],
)
def test_choose_send(sendable, last, expected):
    assert choose_send(sendable, last, NOW, deadline) == expected


def test_backlog_age():
    assert backlog_age(None, NOW) == timedelta(0)
    assert backlog_age(NOW - timedelta(hours=2, minutes=10), NOW) == timedelta(hours=2, minutes=10)
    assert backlog_age(NOW + timedelta(hours=1), NOW) == timedelta(0)


def h(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 28, hour, minute, tzinfo=UTC)


def test_missed_deadlines_for_the_failure_report():
    slots = [h(h_) for h_ in (8, 9, 10, 11, 12, 13)]
    records = {
        h(8): SlotRecord(h(8), State.ACCEPTED, h(8, 20)),  # on time
        h(9): SlotRecord(h(9), State.ACCEPTED, h(10, 1)),  # accepted late
        h(10): SlotRecord(h(10), State.RETRY_SCHEDULED),  # still failing
        h(11): SlotRecord(h(11), State.SHADOWED),  # never an obligation
        # 12:00 has no row at all; 13:00's deadline (14:00) has not passed
    }
    assert missed_deadlines(slots, records, h(13, 30), deadline) == [
        MissedSlot(h(9), h(10), State.ACCEPTED, h(10, 1)),
        MissedSlot(h(10), h(11), State.RETRY_SCHEDULED, None),
        MissedSlot(h(12), h(13), None, None),
    ]


@pytest.mark.parametrize("answered", [False, True])
def test_a_failed_reply_goes_again_at_the_regulators_own_retry_time(answered):
    later = NOW + timedelta(minutes=4)
    failed = Event(E.REPLY, Outcome(OutcomeKind.RETRY, answered=answered, detail="no luck"), retry_at=later)
    state = State.REJECTED if answered else State.RETRY_SCHEDULED
    assert transition(State.SENDING, failed, NOW) == Transition(state, later, None, "no luck")
