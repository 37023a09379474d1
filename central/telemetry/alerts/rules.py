"""Alert rules: what an operator wants to hear about, per point or per gateway.

A rule is configuration only (validated pydantic, one discriminated union on ``kind``);
how a rule is evaluated lives in :mod:`.evaluate`. Rules are stored as JSON by the
db layer, so every field has a plain JSON shape and a default a person would pick.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Literal, Protocol, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from . import evaluate, timer
from .terms import Direction, Scope, Severity, Trigger

Minutes = Annotated[float, Field(ge=0, le=60 * 24 * 30)]


class BaseRule(BaseModel):
    """One rule kind: its configuration fields, and what it declares once for everyone.

    ``trigger``: when it is judged (:class:`Trigger`); ``reads``: what it reads (reading
    variables, or the heartbeat's fields), None for every variable, so ingest feeds it only
    those; ``step``: the pure function that judges it, called as a method (its signature is
    the trigger's); ``scope``: a point's data or a gateway's. The sets the service queries by
    are derived from these (:func:`kinds`), so a new kind is this one class in :data:`Rule`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    trigger: ClassVar[Trigger]
    reads: ClassVar[frozenset[str] | None] = None
    step: ClassVar[Callable[..., Any]]
    scope: ClassVar[Scope] = Scope.POINT

    severity: Severity = Severity.WARNING
    enabled: bool = True


class _GatewayRule(BaseRule):
    """A rule on a gateway's heartbeats rather than on a point's data."""

    scope: ClassVar[Scope] = Scope.GATEWAY


class _HeartbeatRule(_GatewayRule):
    """A gateway rule judged on each heartbeat's fields (``reads``)."""

    trigger = Trigger.HEARTBEAT


class FlowAboveRight(BaseRule):
    """Flow above the water right (× tolerance) for ``for_minutes`` of reading time."""

    trigger = Trigger.READING
    reads = frozenset({"flow"})
    step = evaluate.flow_step

    kind: Literal["flow_above_right"] = "flow_above_right"
    severity: Severity = Severity.CRITICAL
    water_right_lps: float = Field(gt=0)
    tolerance: float = Field(default=1.0, ge=1.0, le=10.0)
    hysteresis_lps: float = Field(default=0.0, ge=0)
    for_minutes: Minutes = 10
    clear_minutes: Minutes = 5

    @property
    def limit_lps(self) -> float:
        return self.water_right_lps * self.tolerance

    @model_validator(mode="after")
    def _hysteresis_below_limit(self) -> FlowAboveRight:
        if self.hysteresis_lps >= self.limit_lps:
            raise ValueError(f"hysteresis_lps {self.hysteresis_lps} debe ser menor que el límite {self.limit_lps}")
        return self


class _Threshold(BaseRule):
    """A reading variable beyond ``value`` (``hysteresis`` back to clear), judged on readings."""

    trigger = Trigger.READING
    step = evaluate.threshold_step

    direction: Direction = Direction.ABOVE
    value: float
    hysteresis: float = Field(default=0.0, ge=0)
    for_minutes: Minutes = 5
    clear_minutes: Minutes = 5


class LevelThreshold(_Threshold):
    """Water column above the sensor (``level``, m) beyond a threshold."""

    reads = frozenset({"level"})
    kind: Literal["level_threshold"] = "level_threshold"


class WaterTableThreshold(_Threshold):
    """Depth to water (``water_table``, m) beyond a threshold; deeper water is a larger number."""

    reads = frozenset({"water_table"})
    kind: Literal["water_table_threshold"] = "water_table_threshold"


class PointSilent(BaseRule):
    """No reading from a point for ``minutes`` (by the server clock); clears when data returns."""

    trigger = Trigger.SILENCE
    step = timer.silence_step

    kind: Literal["point_silent"] = "point_silent"
    minutes: Minutes = Field(default=30, gt=0)


class GatewaySilent(_GatewayRule):
    """No upload (not even a heartbeat) from a gateway for ``minutes``."""

    trigger = Trigger.SILENCE
    step = timer.silence_step

    kind: Literal["gateway_silent"] = "gateway_silent"
    minutes: Minutes = Field(default=15, gt=0)


class FrozenTotalizer(BaseRule):
    """Totalizer unchanged while flow stays above the cut-off: the meter stopped counting."""

    trigger = Trigger.READING
    reads = frozenset({"flow", "totalizer"})
    step = evaluate.frozen_step

    kind: Literal["frozen_totalizer"] = "frozen_totalizer"
    flow_cutoff_lps: float = Field(default=0.0, ge=0)
    for_minutes: Minutes = Field(default=30, gt=0)


class ConstantValue(BaseRule):
    """A variable repeating the exact same value for ``hours``: a stuck sensor or register."""

    trigger = Trigger.READING
    step = evaluate.constant_step

    kind: Literal["constant_value"] = "constant_value"
    hours: float = Field(default=12, gt=0, le=24 * 30)
    variables: list[str] | None = None  # None: every variable except ``exclude``
    exclude: list[str] = Field(default_factory=lambda: ["totalizer"])
    ignore_zero: bool = True  # a stopped pump reads 0.0 for days, legitimately


class TotalizerDecrease(BaseRule):
    """The totalizer went backwards: a meter reset, a swap, or a meter in net (bidirectional) mode."""

    trigger = Trigger.READING
    reads = frozenset({"totalizer"})
    step = evaluate.decrease_step

    kind: Literal["totalizer_decrease"] = "totalizer_decrease"
    min_decrease_m3: float = Field(default=0.001, ge=0)
    clear_minutes: Minutes = 24 * 60  # quiet time (reading time) after which the alert clears


class ClockOffset(_HeartbeatRule):
    """A gateway clock off by more than ``tolerance_s`` (``sent_at`` against the server clock)."""

    reads = frozenset({"clock_offset_s"})
    step = evaluate.clock_step

    kind: Literal["clock_offset"] = "clock_offset"
    tolerance_s: float = Field(default=120, gt=0)
    hysteresis_s: float = Field(default=30, ge=0)
    for_minutes: Minutes = 0
    clear_minutes: Minutes = 5


class BufferDropping(_HeartbeatRule):
    """The edge buffer dropped readings (its ``dropped_total`` grew): data lost for good."""

    reads = frozenset({"dropped_total"})
    step = evaluate.drop_step

    kind: Literal["buffer_dropping"] = "buffer_dropping"
    severity: Severity = Severity.CRITICAL
    clear_minutes: Minutes = 60


# A registered regulator's name (as in /api/v1/points/{code}/compliance/<name>); None: any. The
# names are compliance's, so the API checks them against AppContext.regulators (central does not
# import compliance) rather than this type.
Regulator = Annotated[
    str,
    Field(
        min_length=1,
        max_length=32,
        pattern=r"^[a-z][a-z0-9_]*$",
        description="A registered regulator's name, as in /api/v1/points/{code}/compliance/<name>",
    ),
]


class _SubmissionRule(BaseRule):
    """A rule on a point's submissions to one regulator (or any), judged by the timer."""

    trigger = Trigger.SUBMISSIONS

    regulator: Regulator | None = None  # None: any regulator


class SubmissionFailed(_SubmissionRule):
    """The last attempt to submit to a regulator failed and will be retried."""

    step = timer.failed_step

    kind: Literal["submission_failed"] = "submission_failed"


class SubmissionUnrecoverable(_SubmissionRule):
    """A regulator refused a submission for good: a person has to fix data or configuration."""

    step = timer.unrecoverable_step

    kind: Literal["submission_unrecoverable"] = "submission_unrecoverable"
    severity: Severity = Severity.CRITICAL


class Escalation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    after_hours: float = Field(gt=0)
    severity: Severity


def _default_escalation() -> tuple[Escalation, ...]:
    return (
        Escalation(after_hours=24, severity=Severity.INFO),
        Escalation(after_hours=48, severity=Severity.WARNING),
        Escalation(after_hours=72, severity=Severity.CRITICAL),
    )


class SubmissionLate(_SubmissionRule):
    """A due submission still not accepted; severity rises with lateness (24, 48, 72 h)."""

    step = timer.late_step

    kind: Literal["submission_late"] = "submission_late"
    escalation: tuple[Escalation, ...] = Field(default_factory=_default_escalation, min_length=1)

    @model_validator(mode="after")
    def _rising(self) -> SubmissionLate:
        hours = [step.after_hours for step in self.escalation]
        ranks = [step.severity.rank for step in self.escalation]
        if hours != sorted(set(hours)) or ranks != sorted(ranks):
            raise ValueError("los pasos de escalation deben tener after_hours creciente y severity que no baje")
        return self


class ComplianceEvent(BaseRule):
    """Compliance log events that need a person (work blocked, reply without comprobante...):
    one alert per event kind while the condition lasts (see :mod:`.regulator_events`)."""

    trigger = Trigger.EVENTS  # judged by :func:`.regulator_events.evaluate_events`, one alert per event kind

    kind: Literal["compliance_event"] = "compliance_event"
    severity: Severity = Severity.CRITICAL


Rule = Annotated[
    FlowAboveRight
    | LevelThreshold
    | WaterTableThreshold
    | PointSilent
    | GatewaySilent
    | FrozenTotalizer
    | ConstantValue
    | TotalizerDecrease
    | ClockOffset
    | BufferDropping
    | SubmissionFailed
    | SubmissionUnrecoverable
    | SubmissionLate
    | ComplianceEvent,
    Field(discriminator="kind"),
]

RULE_ADAPTER: TypeAdapter[Rule] = TypeAdapter(Rule)
RULE_CLASSES: tuple[type[BaseRule], ...] = get_args(get_args(Rule)[0])


def kinds(*triggers: Trigger, scope: Scope | None = None) -> frozenset[str]:
    """The kinds judged on any of ``triggers`` (of one ``scope``, or both), from the classes."""
    return frozenset(
        cls.model_fields["kind"].default
        for cls in RULE_CLASSES
        if cls.trigger in triggers and scope in (None, cls.scope)
    )


def parse_rule(data: dict[str, object] | str | bytes) -> Rule:
    """A rule from JSON text or a decoded dict (API body, db column); errors name the field."""
    if isinstance(data, dict):
        return RULE_ADAPTER.validate_python(data)
    return RULE_ADAPTER.validate_json(data)


class PointFacts(Protocol):
    """What :func:`default_rules` needs from a point (the core ``Point`` model has these)."""

    @property
    def water_right_lps(self) -> float | None: ...

    @property
    def flow_cutoff_lps(self) -> float | None: ...

    @property
    def sensor_depth_m(self) -> float | None: ...


_CHECKS_AS_DEFAULTS = (
    ConstantValue,
    TotalizerDecrease,
    SubmissionFailed,
    SubmissionUnrecoverable,
    SubmissionLate,
    ComplianceEvent,
)
"""The checks a new point gets after its silence and frozen-totalizer rules, each with its own defaults."""


def default_rules(point: PointFacts) -> list[Rule]:
    """The rules a new point starts with; each can be edited or disabled through the API."""
    rules: list[Rule] = [
        PointSilent(),
        FrozenTotalizer(flow_cutoff_lps=point.flow_cutoff_lps or 0.0),
        *(check() for check in _CHECKS_AS_DEFAULTS),
    ]
    if point.water_right_lps:
        right = point.water_right_lps
        rules.insert(0, FlowAboveRight(water_right_lps=right, hysteresis_lps=round(right * 0.05, 3)))
    if point.sensor_depth_m:
        rules.append(_sensor_exposed(point.sensor_depth_m))
    return rules


def _sensor_exposed(sensor_depth_m: float) -> WaterTableThreshold:
    """Water table down to 90 % of the sensor depth: the sensor (and pump) are about to run dry."""
    return WaterTableThreshold(
        direction=Direction.ABOVE,
        value=round(sensor_depth_m * 0.9, 2),
        hysteresis=round(min(0.5, sensor_depth_m * 0.02), 2),
        for_minutes=10,
    )


def default_gateway_rules() -> list[Rule]:
    """The rules a new gateway starts with."""
    return [GatewaySilent(), ClockOffset(), BufferDropping()]
