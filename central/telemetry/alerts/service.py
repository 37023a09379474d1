"""Alert evaluation wired to the database: after each ingest, and on the telemetry timer.

Each evaluation loads rules, their state and the live alerts, runs the pure evaluation
and lifecycle, and writes states, transitions and the notifications they queue in ONE
transaction (see :mod:`.store` for why a racing replica cannot notify twice).

- :func:`evaluate_ingest`: the reading rules of the points a batch wrote. It locks those
  rules' state rows (PostgreSQL), so two evaluations of one point run one after the other;
  a lost race is retried from fresh state. A small batch's cost is mostly its round trips
  (so the ``on_ingest`` hook merges batches, :mod:`.evaluation_queue`); a large one's, the
  pure evaluation per reading and rule, so each rule is fed only the variables it reads.
- :func:`evaluate_timer` (every 30 s): silence of points (newest reading with a value) and
  gateways (last upload), gateway heartbeats (clock offset, buffer drops, from the columns
  ingest keeps fresh), regulator submissions (the compliance ledger) and compliance events
  that need a person (:mod:`.regulator_events`).

Who hears about a transition: the channels whose subscription wants it, and the users whose
profile asks for it (``notify_email`` / ``notify_sms``, see :class:`central.notify.Preferences`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from operator import attrgetter
from typing import Any

from central.core import lookups as core_lookups
from central.db import Connection, Database
from central.notify import new_notification
from central.notify.models import PREFERENCE_CHANNELS, AlertSubject
from central.notify.service import preference_recipients, subscribed_channels
from central.notify.settings import Preferences
from central.notify.store import enqueue
from central.regulators import Regulators
from central.telemetry import lookups as telemetry_lookups

from . import rule_store, store
from .compliance_facts import all_submission_snapshots
from .evaluate import WITH_VALUE, evaluate_heartbeat, evaluate_ordered
from .lifecycle import Alert, Transition, apply_signals, notice
from .regulator_events import evaluate_events, holding_events
from .rule_store import StoredRule
from .rules import Rule, Scope, Trigger, kinds
from .state import Heartbeat, RuleState, Sample, Signal
from .timer import evaluate_silence, evaluate_submissions

log = logging.getLogger("caudal.central.alerts")

RACE_RETRIES = 3
READING_KINDS = kinds(Trigger.READING)
_ON_TIMER = [trigger for trigger in Trigger if trigger is not Trigger.READING]
POINT_TIMER_KINDS = kinds(*_ON_TIMER, scope=Scope.POINT)
GATEWAY_TIMER_KINDS = kinds(*_ON_TIMER, scope=Scope.GATEWAY)


# --- writing transitions and their notifications -----------------------------------------------


def _subjects(conn: Connection, stored: StoredRule) -> list[str]:
    """What subscriptions match: the point, or the gateway and every point it reports."""
    if stored.scope is Scope.POINT:
        return [stored.subject]
    return [stored.subject, *core_lookups.gateway_point_codes(conn, stored.subject_id)]


def _notify(
    conn: Connection, stored: StoredRule, transition: Transition, now: datetime, preferences: Preferences
) -> int:
    alert = transition.alert
    point_id, gateway_id = _ids(stored)
    channels = subscribed_channels(
        conn, point_id=point_id, gateway_id=gateway_id, severity=alert.severity, subjects=_subjects(conn, stored)
    )
    profiles = preference_recipients(
        conn, point_id=point_id, gateway_id=gateway_id, severity=alert.severity, preferences=preferences
    )
    title, body = notice(transition)
    event = f"{transition.event.value}:{alert.severity.value}"
    about = AlertSubject(point_id, gateway_id, stored.subject)
    for channel in channels:
        notification = new_notification(
            channel["username"], channel["name"], title, body, now, severity=alert.severity, alert_id=alert.id
        )
        enqueue(
            conn, notification, user_id=channel["user_id"], channel_id=channel["id"], alert_event=event, subject=about
        )
    for profile in profiles:
        notification = new_notification(
            profile["username"],
            PREFERENCE_CHANNELS[profile["preference"]],
            title,
            body,
            now,
            severity=alert.severity,
            alert_id=alert.id,
        )
        enqueue(
            conn,
            notification,
            user_id=profile["user_id"],
            channel_id=None,
            alert_event=event,
            preference=profile["preference"],
            subject=about,
        )
    return len(channels) + len(profiles)


def _ids(stored: StoredRule) -> tuple[int | None, int | None]:
    return (stored.subject_id, None) if stored.scope is Scope.POINT else (None, stored.subject_id)


def transitions_of(
    stored: StoredRule, live: Alert | None, signals: Sequence[Signal], kind: str | None = None
) -> list[Transition]:
    """``kind``: the alert's kind when it is not the rule's (a compliance event's kind)."""
    return apply_signals(live, signals, rule_id=stored.id, kind=kind or stored.rule.kind, subject=stored.subject)


def commit(
    conn: Connection,
    stored: StoredRule,
    live: Alert | None,
    transitions: Sequence[Transition],
    now: datetime,
    preferences: Preferences,
) -> int:
    """Write the rule's transitions (from its live alert ``live``) and queue their messages."""
    point_id, gateway_id = _ids(stored)
    before = live
    for transition in transitions:
        store.write_transition(conn, transition, before, point_id=point_id, gateway_id=gateway_id)
        if transition.notify:
            _notify(conn, stored, transition, now, preferences)
        before = transition.alert if transition.alert.live else None
    return len(transitions)


# --- on ingest ----------------------------------------------------------------------------------


class _PointReadings:
    """One point's usable readings of a batch, in time order, split by variable (what
    :func:`.evaluate.evaluate_ordered` takes: they are sorted and filtered once per batch).

    A rule is fed only the variables its kind reads (``reads``; None: every reading).
    Evaluation is per reading and per rule, so this is most of its cost: a flow rule skips the
    totalizer and level readings of the batch. A variable's readings are picked out the first
    time a rule asks for them (one comprehension, not a method call per reading).
    """

    def __init__(self, readings: list[Sample]) -> None:
        self.all = readings
        self._by_variable: dict[str, list[Sample]] = {}

    def of(self, variable: str) -> list[Sample]:
        found = self._by_variable.get(variable)
        if found is None:
            found = self._by_variable[variable] = [reading for reading in self.all if reading.variable == variable]
        return found

    def for_rule(self, rule: Rule) -> list[Sample]:
        wanted = rule.reads
        if wanted is None:
            return self.all
        if len(wanted) == 1:
            return self.of(next(iter(wanted)))
        return [reading for reading in self.all if reading.variable in wanted]


def _usable(readings: Sequence[Any]) -> dict[int, _PointReadings]:
    """Each point's readings with a value, in time order (readings of one time in batch order).

    One sort by time, then split by point: a batch arrives nearly in time order, so that sort
    is close to linear, where a sort by (point, time) reorders the whole batch.
    """
    by_point: dict[int, list[Sample]] = defaultdict(list)
    for reading in sorted(readings, key=_TS):
        if reading.value is not None and reading.quality in WITH_VALUE:
            by_point[reading.point_id].append(reading)
    return {point_id: _PointReadings(usable) for point_id, usable in by_point.items()}


_TS = attrgetter("ts")


def evaluate_ingest(
    db: Database, readings: Sequence[Any], now: datetime, preferences: Preferences = Preferences()
) -> int:
    """Evaluate the reading rules of the points in ``readings`` (objects with point_id, ts,
    variable, value, quality); returns how many alert transitions were written.
    ``preferences``: what users' profiles imply (``NotifySettings.preferences``)."""
    by_point = _usable(readings)
    if not by_point:
        return 0
    for attempt in range(1, RACE_RETRIES + 1):
        try:
            with db.transaction() as conn:
                return _evaluate_points(conn, by_point, now, preferences)
        except store.AlertRace as race:
            log.info(
                "la evaluación de alertas chocó con otra en curso (intento %d de %d): %s", attempt, RACE_RETRIES, race
            )
    return 0


def _evaluate_points(
    conn: Connection, by_point: dict[int, _PointReadings], now: datetime, preferences: Preferences
) -> int:
    rule_store.ensure_point_rules(conn, by_point, now)
    rules = rule_store.rules_for_points(conn, list(by_point), READING_KINDS, lock=True)
    live = store.live_alerts(conn, [stored.id for stored in rules])
    states: list[tuple[int, RuleState]] = []
    written = 0
    for stored in rules:
        state, signals = evaluate_ordered(stored.rule, stored.state, by_point[stored.subject_id].for_rule(stored.rule))
        if state != stored.state:
            states.append((stored.id, state))
        written += commit(
            conn, stored, live.get(stored.id), transitions_of(stored, live.get(stored.id), signals), now, preferences
        )
    rule_store.save_states(conn, states, now)
    return written


# --- on the timer -------------------------------------------------------------------------------


def _heartbeat(gateway: dict[str, Any]) -> Heartbeat:
    """What the heartbeat rules judge: last contact, clock offset (gateway minus server) and drops."""
    return Heartbeat(
        ts=gateway["last_seen_at"], clock_offset_s=gateway["clock_offset_s"], dropped_total=gateway["dropped_total"]
    )


class _Facts:
    """What the timer judges against, read once per tick."""

    def __init__(self, conn: Connection, now: datetime, regulators: Regulators) -> None:
        self.point_seen = telemetry_lookups.point_last_seen(conn)
        self.gateways = core_lookups.active_gateways(conn)
        self.submissions = all_submission_snapshots(conn, now, regulators)
        self.compliance = holding_events(conn, now, regulators)


def _timer_signals(stored: StoredRule, facts: _Facts, now: datetime) -> tuple[RuleState, list[Signal]]:
    rule = stored.rule
    if rule.trigger is Trigger.SUBMISSIONS:
        return stored.state, evaluate_submissions(rule, facts.submissions.get(stored.subject_id, []), now)
    if rule.scope is Scope.POINT:
        return stored.state, evaluate_silence(rule, facts.point_seen.get(stored.subject_id), now)
    gateway = facts.gateways.get(stored.subject_id)
    if gateway is None or gateway["last_seen_at"] is None:
        return stored.state, []
    if rule.trigger is Trigger.SILENCE:
        return stored.state, evaluate_silence(stored.rule, gateway["last_seen_at"], now)
    return evaluate_heartbeat(stored.rule, stored.state, _heartbeat(gateway))


Update = tuple[Alert | None, RuleState, list[Transition]]


def _timer_updates(
    stored: StoredRule, facts: _Facts, live: dict[tuple[int, str], Alert], now: datetime
) -> list[Update]:
    """(live alert, new state, transitions) per alert the rule keeps: one, or one per compliance event kind."""
    if stored.rule.trigger is not Trigger.EVENTS:
        state, signals = _timer_signals(stored, facts, now)
        before = live.get((stored.id, stored.rule.kind))
        return [(before, state, transitions_of(stored, before, signals))]
    live_kinds = {kind for rule_id, kind in live if rule_id == stored.id}
    by_kind = evaluate_events(stored.rule, facts.compliance.get(stored.subject_id, {}), live_kinds, now)
    return [
        (live.get((stored.id, kind)), stored.state, transitions_of(stored, live.get((stored.id, kind)), [signal], kind))
        for kind, signal in by_kind.items()
    ]


def evaluate_timer(
    db: Database, now: datetime, preferences: Preferences = Preferences(), regulators: Regulators = Regulators()
) -> int:
    """One timer pass over every point and gateway; returns how many transitions were written.
    ``regulators`` name each regulator in the alerts' texts (the app's ``AppContext.regulators``)."""
    with db.transaction() as conn:
        rule_store.ensure_all_rules(conn, now)
    with db.connect() as conn:
        rules = rule_store.timer_rules(conn, POINT_TIMER_KINDS, GATEWAY_TIMER_KINDS)
        facts = _Facts(conn, now, regulators)
        live = store.live_by_kind(conn, [stored.id for stored in rules])
    written = 0
    for stored in rules:
        for before, state, transitions in _timer_updates(stored, facts, live, now):
            if state == stored.state and not transitions:
                continue
            try:
                with db.transaction() as conn:
                    written += commit(conn, stored, before, transitions, now, preferences)
                    if state != stored.state:
                        rule_store.save_states(conn, [(stored.id, state)], now)
            except store.AlertRace as race:
                log.info("la evaluación por tiempo de la regla %d chocó con otra en curso: %s", stored.id, race)
    return written
