"""Alert rules: what an operator wants to hear about, per point or per gateway.

A rule is configuration only (validated pydantic, one discriminated union on ``kind``);
how a rule is evaluated lives in :mod:`.evaluate`. Rules are stored as JSON by the
db layer, so every field has a plain JSON shape and a default a person would pick.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

Minutes = Annotated[float, Field(ge=0, le=60 * 24 * 30)]


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Order for "at least this severe" filters and escalation."""
        return _RANKS[self]


_RANKS = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class Direction(StrEnum):
    ABOVE = "above"
    BELOW = "below"


class Scope(StrEnum):
    """What a rule watches: a point's data or a gateway's heartbeats."""

    POINT = "point"
    GATEWAY = "gateway"


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    severity: Severity = Severity.WARNING
    enabled: bool = True

    @property
    def scope(self) -> Scope:
        return Scope.POINT


class _GatewayRule(_Rule):
    """A rule on a gateway's heartbeats rather than on a point's data."""

    @property
    def scope(self) -> Scope:
        return Scope.GATEWAY


class FlowAboveRight(_Rule):
    """Flow above the water right (× tolerance) for ``for_minutes`` of reading time."""

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
            raise ValueError(f"hysteresis_lps {self.hysteresis_lps} must be below the limit {self.limit_lps}")
        return self


class _Threshold(_Rule):
    direction: Direction = Direction.ABOVE
    value: float
    hysteresis: float = Field(default=0.0, ge=0)
    for_minutes: Minutes = 5
    clear_minutes: Minutes = 5


class LevelThreshold(_Threshold):
    """Water column above the sensor (``level``, m) beyond a threshold."""

    kind: Literal["level_threshold"] = "level_threshold"


class WaterTableThreshold(_Threshold):
    """Depth to water (``water_table``, m) beyond a threshold; deeper water is a larger number."""

    kind: Literal["water_table_threshold"] = "water_table_threshold"


class PointSilent(_Rule):
    """No reading from a point for ``minutes`` (by the server clock); clears when data returns."""

    kind: Literal["point_silent"] = "point_silent"
    minutes: Minutes = Field(default=30, gt=0)


class GatewaySilent(_GatewayRule):
    """No upload (not even a heartbeat) from a gateway for ``minutes``."""

    kind: Literal["gateway_silent"] = "gateway_silent"
    minutes: Minutes = Field(default=15, gt=0)


class FrozenTotalizer(_Rule):
    """Totalizer unchanged while flow stays above the cut-off: the meter stopped counting."""

    kind: Literal["frozen_totalizer"] = "frozen_totalizer"
    flow_cutoff_lps: float = Field(default=0.0, ge=0)
    for_minutes: Minutes = Field(default=30, gt=0)


class ConstantValue(_Rule):
    """A variable repeating the exact same value for ``hours``: a stuck sensor or register."""

    kind: Literal["constant_value"] = "constant_value"
    hours: float = Field(default=12, gt=0, le=24 * 30)
    variables: list[str] | None = None  # None: every variable except ``exclude``
    exclude: list[str] = Field(default_factory=lambda: ["totalizer"])
    ignore_zero: bool = True  # a stopped pump reads 0.0 for days, legitimately


class TotalizerDecrease(_Rule):
    """The totalizer went backwards: a meter reset, a swap, or a meter in net (bidirectional) mode."""

    kind: Literal["totalizer_decrease"] = "totalizer_decrease"
    min_decrease_m3: float = Field(default=0.001, ge=0)
    clear_minutes: Minutes = 24 * 60  # quiet time (reading time) after which the alert clears


class ClockOffset(_GatewayRule):
    """A gateway clock off by more than ``tolerance_s`` (``sent_at`` against the server clock)."""

    kind: Literal["clock_offset"] = "clock_offset"
    tolerance_s: float = Field(default=120, gt=0)
    hysteresis_s: float = Field(default=30, ge=0)
    for_minutes: Minutes = 0
    clear_minutes: Minutes = 5


class BufferDropping(_GatewayRule):
    """The edge buffer dropped readings (its ``dropped_total`` grew): data lost for good."""

    kind: Literal["buffer_dropping"] = "buffer_dropping"
    severity: Severity = Severity.CRITICAL
    clear_minutes: Minutes = 60


Regulator = Literal["dga", "sma"]


class SubmissionFailed(_Rule):
    """The last attempt to submit to a regulator failed and will be retried."""

    kind: Literal["submission_failed"] = "submission_failed"
    regulator: Regulator | None = None  # None: any regulator


class SubmissionUnrecoverable(_Rule):
    """A regulator refused a submission for good: a person has to fix data or configuration."""

    kind: Literal["submission_unrecoverable"] = "submission_unrecoverable"
    severity: Severity = Severity.CRITICAL
    regulator: Regulator | None = None


class Escalation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    after_hours: float = Field(gt=0)
    severity: Severity


def _default_escalation() -> list[Escalation]:
    return [
        Escalation(after_hours=24, severity=Severity.INFO),
        Escalation(after_hours=48, severity=Severity.WARNING),
        Escalation(after_hours=72, severity=Severity.CRITICAL),
    ]


class SubmissionLate(_Rule):
    """A due submission still not accepted; severity rises with lateness (24, 48, 72 h)."""

    kind: Literal["submission_late"] = "submission_late"
    regulator: Regulator | None = None
    escalation: list[Escalation] = Field(default_factory=_default_escalation, min_length=1)

    @model_validator(mode="after")
    def _rising(self) -> SubmissionLate:
        hours = [step.after_hours for step in self.escalation]
        ranks = [step.severity.rank for step in self.escalation]
        if hours != sorted(set(hours)) or ranks != sorted(ranks):
            raise ValueError("escalation steps must have increasing after_hours and non-decreasing severity")
        return self


class ComplianceEvent(_Rule):
    """Compliance log events that need a person (work blocked, reply without comprobante...):
    one alert per event kind while the condition lasts (see :mod:`.regulator_events`)."""

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


def default_rules(point: PointFacts) -> list[Rule]:
    """The rules a new point starts with; each can be edited or disabled through the API."""
    rules: list[Rule] = [
        PointSilent(),
        FrozenTotalizer(flow_cutoff_lps=point.flow_cutoff_lps or 0.0),
        ConstantValue(),
        TotalizerDecrease(),
        SubmissionFailed(),
        SubmissionUnrecoverable(),
        SubmissionLate(),
        ComplianceEvent(),
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
