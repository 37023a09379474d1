"""Evaluation fed by data: readings at ingest and gateway heartbeats.

Pure functions ``(rule, state, inputs) -> (new_state, signals)``. "For N minutes" is
measured on reading timestamps, never the wall clock, so a backlog uploaded after an
outage is judged by when things happened. Readings older than the newest one already
evaluated are ignored (evaluation only moves forward). A condition raises once; while a
threshold stays crossed, the batch's newest reading beyond it is one ``hold`` signal that
keeps the alert's ``last_value`` and ``last_seen_at`` current (nobody is notified).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from itertools import islice
from operator import attrgetter
from typing import TYPE_CHECKING, NamedTuple

from protocols.uplink import Quality

from . import messages
from .state import (
    Heartbeat,
    RuleState,
    Sample,
    Signal,
    SignalAction,
    WorkRun,
    WorkState,
)
from .terms import Direction, Trigger

if TYPE_CHECKING:  # the rule classes name these functions as their steps
    from .rules import (
        BaseRule,
        BufferDropping,
        ClockOffset,
        ConstantValue,
        FlowAboveRight,
        FrozenTotalizer,
        LevelThreshold,
        Rule,
        TotalizerDecrease,
        WaterTableThreshold,
    )

Step = Callable[[WorkState, Sample], Signal | None]


def evaluate_readings(rule: BaseRule, state: RuleState, readings: Iterable[Sample]) -> tuple[RuleState, list[Signal]]:
    """Feed one point's processed readings (any order, any variables) through one rule.

    Rules not fed by readings return the state unchanged and no signals, so ingest can
    loop over all of a point's rules. A disabled rule forgets its state.
    """
    return evaluate_ordered(
        rule, state, sorted((r for r in readings if r.quality in WITH_VALUE and r.value is not None), key=_TS)
    )


def evaluate_ordered(rule: BaseRule, state: RuleState, samples: Sequence[Sample]) -> tuple[RuleState, list[Signal]]:
    """:func:`evaluate_readings` for samples already usable (with a value) and in time order.

    Ingest sorts and filters a batch once for all the rules of its points; sorting again per
    rule was a fifth of evaluation's cost. Samples older than the state's newest evaluated
    reading are cut off in one bisection rather than tested one by one.
    """
    if not rule.enabled:
        return RuleState(), []
    if rule.trigger is not Trigger.READING:
        return state, []
    work = WorkState.of(state)
    start = 0 if work.last_ts is None else bisect_left(samples, work.last_ts, key=_TS)
    if start == len(samples):
        return work.freeze(), []
    step: Step = rule.step()
    signals: list[Signal] = []
    for sample in islice(samples, start, None):
        signal = step(work, sample)
        if signal is None:
            continue
        if signal.action is SignalAction.HOLD and signals and signals[-1].action is SignalAction.HOLD:
            signals[-1] = signal  # only the newest reading that still holds matters
        else:
            signals.append(signal)
    work.last_ts = samples[-1].ts  # no step reads it: set once, for the newest sample
    return work.freeze(), signals


_TS = attrgetter("ts")
WITH_VALUE = frozenset(quality for quality in Quality if quality.has_value)  # a set test, not a property per reading


def _debounce(
    state: WorkState, beyond: bool, back: bool, ts: datetime, raise_after: timedelta, clear_after: timedelta
) -> SignalAction | None:
    """Flip ``state.active`` once the wanted condition has held continuously long enough.

    While inactive the wanted condition is ``beyond`` (for ``raise_after``);
    while active it is ``back`` (for ``clear_after``). Anything in between
    restarts the wait, which is what keeps a value hovering at a threshold from flapping.
    """
    wanted = back if state.active else beyond
    if not wanted:
        state.since = None
        return None
    if state.since is None:
        state.since = ts
    if ts - state.since < (clear_after if state.active else raise_after):
        return None
    state.active, state.since = not state.active, None
    return SignalAction.RAISE if state.active else SignalAction.CLEAR


class _Threshold(NamedTuple):
    variable: str
    direction: Direction
    limit: float
    hysteresis: float
    for_minutes: float
    clear_minutes: float


def flow_step(rule: FlowAboveRight) -> Step:
    """Flow above the water right × tolerance, back below it less the hysteresis."""
    spec = _Threshold(
        "flow", Direction.ABOVE, rule.limit_lps, rule.hysteresis_lps, rule.for_minutes, rule.clear_minutes
    )

    def message(action: SignalAction, value: float) -> str:
        if action is not SignalAction.CLEAR:
            return messages.flow_above(value, rule.water_right_lps, rule.tolerance, spec.for_minutes)
        return messages.flow_back(value, rule.water_right_lps, rule.tolerance)

    return _crossing_step(rule, spec, message)


def threshold_step(rule: LevelThreshold | WaterTableThreshold) -> Step:
    """The one variable the rule kind reads beyond its value, in its direction."""
    (variable,) = rule.reads or frozenset()
    spec = _Threshold(variable, rule.direction, rule.value, rule.hysteresis, rule.for_minutes, rule.clear_minutes)

    def message(action: SignalAction, value: float) -> str:
        if action is not SignalAction.CLEAR:
            return messages.threshold_crossed(variable, value, spec.direction, spec.limit, spec.for_minutes)
        return messages.threshold_back(variable, value, spec.limit)

    return _crossing_step(rule, spec, message)


def _crossing_step(rule: Rule, spec: _Threshold, message: Callable[[SignalAction, float], str]) -> Step:
    sign = 1.0 if spec.direction is Direction.ABOVE else -1.0
    variable, limit, hysteresis = spec.variable, spec.limit, spec.hysteresis
    raise_after, clear_after = timedelta(minutes=spec.for_minutes), timedelta(minutes=spec.clear_minutes)

    def step(state: WorkState, sample: Sample) -> Signal | None:
        if sample.variable != variable:
            return None
        value = float(sample.value)  # type: ignore[arg-type]  # usable samples carry a value
        excess = sign * (value - limit)
        if excess <= 0 and not state.active:  # the common case, what _debounce does with it
            state.since = None
            return None
        action = _debounce(state, excess > 0, excess <= -hysteresis, sample.ts, raise_after, clear_after)
        if action is None and state.active and excess > 0:
            action = SignalAction.HOLD
        if action is None:
            return None
        return Signal(action=action, ts=sample.ts, severity=rule.severity, value=value, message=message(action, value))

    return step


def frozen_step(rule: FrozenTotalizer) -> Step:
    """The totalizer must move while flow is above the cut-off; clear as soon as it moves."""
    cutoff, span = rule.flow_cutoff_lps, timedelta(minutes=rule.for_minutes)

    def step(state: WorkState, sample: Sample) -> Signal | None:
        value = float(sample.value)  # type: ignore[arg-type]
        variable = sample.variable
        if variable == "flow":
            state.flow_above_since = (state.flow_above_since or sample.ts) if value > cutoff else None
        elif variable == "totalizer":
            if value != state.ref:
                return _totalizer_moved(rule, state, sample.ts, value)
        else:
            return None
        return _frozen_check(rule, state, sample.ts, span)

    return step


def _totalizer_moved(rule: FrozenTotalizer, state: WorkState, ts: datetime, value: float) -> Signal | None:
    state.ref, state.ref_since = value, ts
    if not state.active:
        return None
    state.active = False
    return _signal(rule, SignalAction.CLEAR, ts, value, messages.totalizer_moving(value))


def _frozen_check(rule: FrozenTotalizer, state: WorkState, ts: datetime, span: timedelta) -> Signal | None:
    flow_since, ref_since = state.flow_above_since, state.ref_since
    if state.active or flow_since is None or ref_since is None or state.ref is None:
        return None
    if ts - (flow_since if flow_since > ref_since else ref_since) < span:
        return None
    state.active = True
    message = messages.frozen(state.ref, rule.flow_cutoff_lps, rule.for_minutes)
    return _signal(rule, SignalAction.RAISE, ts, state.ref, message)


def constant_step(rule: ConstantValue) -> Step:
    """Track, per watched variable, how long it has repeated one value.

    ``state.stuck`` (the variables repeating for ``hours`` or more) is kept up to date as runs
    grow or restart, instead of being recounted over every run at every reading.
    """
    watched = set(rule.variables) if rule.variables is not None else None
    excluded = set(rule.exclude)
    span, ignore_zero = timedelta(hours=rule.hours), rule.ignore_zero

    def step(state: WorkState, sample: Sample) -> Signal | None:
        variable = sample.variable
        if variable in excluded or (watched is not None and variable not in watched):
            return None
        value, ts, runs = float(sample.value), sample.ts, state.runs  # type: ignore[arg-type]
        stuck = state.stuck
        if stuck is None:
            stuck = state.stuck = {name for name, run in runs.items() if run.last - run.since >= span}
        run = runs.get(variable)
        if ignore_zero and value == 0:
            runs.pop(variable, None)
            stuck.discard(variable)
        elif run is None:
            runs[variable] = WorkRun(value, ts, ts)
            stuck.discard(variable)
        elif run.value == value:
            run.last = ts
            if ts - run.since >= span:
                stuck.add(variable)
        else:  # a new value: the run restarts (in place, no object per reading)
            run.value, run.since, run.last = value, ts, ts
            stuck.discard(variable)
        if bool(stuck) == state.active:
            return None
        state.active = bool(stuck)
        if state.active:
            return _signal(rule, SignalAction.RAISE, sample.ts, value, messages.constant(sorted(stuck), rule.hours))
        return _signal(rule, SignalAction.CLEAR, sample.ts, value, messages.constant_over())

    return step


def decrease_step(rule: TotalizerDecrease) -> Step:
    def step(state: WorkState, sample: Sample) -> Signal | None:
        if sample.variable != "totalizer":
            return None
        value = float(sample.value)  # type: ignore[arg-type]
        before, state.ref = state.ref, value
        if before is not None and value < before - rule.min_decrease_m3:
            return _event(rule, state, sample.ts, value, messages.totalizer_decreased(before, value))
        return _quiet(rule, state, sample.ts, value, rule.clear_minutes, messages.totalizer_steady)

    return step


def _event(rule: Rule, state: WorkState, ts: datetime, value: float, message: str) -> Signal | None:
    """A one-off event (a decrease, a drop): raise once, remember when it last happened."""
    state.ref_since = ts
    if state.active:
        return None
    state.active = True
    return _signal(rule, SignalAction.RAISE, ts, value, message)


def _quiet(
    rule: Rule, state: WorkState, ts: datetime, value: float, minutes: float, message: Callable[[float], str]
) -> Signal | None:
    """Clear an event alert once nothing happened for ``minutes``."""
    if not state.active or state.ref_since is None or ts - state.ref_since < timedelta(minutes=minutes):
        return None
    state.active = False
    return _signal(rule, SignalAction.CLEAR, ts, value, message(minutes))


def _signal(rule: Rule, action: SignalAction, ts: datetime, value: float | None, message: str) -> Signal:
    return Signal(action=action, ts=ts, severity=rule.severity, value=value, message=message)


def evaluate_heartbeat(rule: BaseRule, state: RuleState, heartbeat: Heartbeat) -> tuple[RuleState, list[Signal]]:
    """Feed one gateway upload (or empty heartbeat) through a heartbeat rule (clock offset, buffer drops).

    A heartbeat without the field the rule reads (an agent too old to send it) changes nothing.
    """
    if not rule.enabled:
        return RuleState(), []
    if state.last_ts is not None and heartbeat.ts < state.last_ts:
        return state, []
    if rule.trigger is not Trigger.HEARTBEAT or any(getattr(heartbeat, field) is None for field in rule.reads or ()):
        return state, []
    work = WorkState.of(state)
    signal: Signal | None = rule.step(work, heartbeat)
    work.last_ts = heartbeat.ts
    return work.freeze(), [signal] if signal else []


def clock_step(rule: ClockOffset, state: WorkState, heartbeat: Heartbeat) -> Signal | None:
    ts, offset_s = heartbeat.ts, heartbeat.clock_offset_s or 0.0
    off = abs(offset_s)
    action = _debounce(
        state,
        off > rule.tolerance_s,
        off <= rule.tolerance_s - rule.hysteresis_s,
        ts,
        timedelta(minutes=rule.for_minutes),
        timedelta(minutes=rule.clear_minutes),
    )
    if action is None:
        return None
    if action is SignalAction.RAISE:
        return _signal(rule, action, ts, offset_s, messages.clock_off(offset_s, rule.tolerance_s))
    return _signal(rule, action, ts, offset_s, messages.clock_ok(offset_s))


def drop_step(rule: BufferDropping, state: WorkState, heartbeat: Heartbeat) -> Signal | None:
    """A growing counter is a drop; a smaller one is an agent whose counter restarted (rebase)."""
    ts, dropped_total = heartbeat.ts, heartbeat.dropped_total or 0
    before, state.ref = state.ref, float(dropped_total)
    if before is not None and dropped_total > before:
        message = messages.buffer_dropped(int(dropped_total - before), dropped_total)
        return _event(rule, state, ts, float(dropped_total), message)
    return _quiet(rule, state, ts, float(dropped_total), rule.clear_minutes, messages.buffer_ok)
