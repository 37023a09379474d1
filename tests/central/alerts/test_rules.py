"""Rule models: JSON in and out by kind, validation errors that name the field, defaults."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pydantic import ValidationError

from central.telemetry.alerts import Scope, Severity, default_gateway_rules, default_rules, parse_rule
from central.telemetry.alerts.rule_store import effective, parsed_rule
from central.telemetry.alerts.rules import (
    BufferDropping,
    ClockOffset,
    ComplianceEvent,
    ConstantValue,
    Direction,
    Escalation,
    FlowAboveRight,
    FrozenTotalizer,
    GatewaySilent,
    PointSilent,
    SubmissionFailed,
    SubmissionLate,
    SubmissionUnrecoverable,
    TotalizerDecrease,
    WaterTableThreshold,
)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"kind": "flow_above_right", "water_right_lps": 12}, FlowAboveRight(water_right_lps=12.0)),
        (
            {"kind": "level_threshold", "direction": "below", "value": 1.5, "severity": "critical"},
            parse_rule('{"kind": "level_threshold", "direction": "below", "value": 1.5, "severity": "critical"}'),
        ),
        ({"kind": "point_silent", "minutes": 45}, PointSilent(minutes=45)),
        ({"kind": "gateway_silent"}, GatewaySilent(minutes=15)),
        ({"kind": "frozen_totalizer", "flow_cutoff_lps": 0.5}, FrozenTotalizer(flow_cutoff_lps=0.5, for_minutes=30)),
        ({"kind": "constant_value", "hours": 6}, ConstantValue(hours=6, exclude=["totalizer"])),
        ({"kind": "totalizer_decrease"}, TotalizerDecrease()),
        ({"kind": "clock_offset", "tolerance_s": 60}, ClockOffset(tolerance_s=60)),
        ({"kind": "buffer_dropping"}, BufferDropping(severity=Severity.CRITICAL)),
        ({"kind": "submission_failed", "regulator": "dga"}, SubmissionFailed(regulator="dga")),
        ({"kind": "submission_unrecoverable"}, SubmissionUnrecoverable(severity=Severity.CRITICAL)),
        ({"kind": "submission_late"}, SubmissionLate()),
    ],
)
def test_a_rule_is_parsed_by_its_kind(data: dict[str, object], expected: object) -> None:
    assert parse_rule(data) == expected


@pytest.mark.parametrize(
    "rule",
    [
        FlowAboveRight(water_right_lps=3.5, tolerance=1.1, enabled=False),
        SubmissionLate(regulator="sma"),
        ConstantValue(variables=["level"], ignore_zero=False),
        WaterTableThreshold(value=40, direction="below"),
    ],
)
def test_a_rule_survives_a_json_round_trip(rule: object) -> None:
    assert parse_rule(rule.model_dump_json()) == rule  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"kind": "flow_above_right"}, "water_right_lps"),
        ({"kind": "flow_above_right", "water_right_lps": 0}, "water_right_lps"),
        ({"kind": "flow_above_right", "water_right_lps": 10, "hysteresis_lps": 10}, "hysteresis_lps"),
        ({"kind": "level_threshold", "value": 1, "direction": "sideways"}, "direction"),
        ({"kind": "point_silent", "minutes": 0}, "minutes"),
        ({"kind": "point_silent", "minuts": 10}, "minuts"),
        ({"kind": "rain_alarm"}, "rain_alarm"),
        (
            {
                "kind": "submission_late",
                "escalation": [{"after_hours": 48, "severity": "info"}, {"after_hours": 24, "severity": "critical"}],
            },
            "escalation",
        ),
        ({"kind": "point_silent", "severity": "urgent"}, "severity"),
    ],
)
def test_a_bad_rule_is_refused_naming_the_field(data: dict[str, object], where: str) -> None:
    with pytest.raises(ValidationError, match=where):
        parse_rule(data)


@dataclass
class Point:
    water_right_lps: float | None = None
    flow_cutoff_lps: float | None = None
    sensor_depth_m: float | None = None


CHECKS = [
    ConstantValue(),
    TotalizerDecrease(),
    SubmissionFailed(),
    SubmissionUnrecoverable(),
    SubmissionLate(),
    ComplianceEvent(),
]


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        (Point(), [PointSilent(), FrozenTotalizer(flow_cutoff_lps=0.0), *CHECKS]),
        (
            Point(water_right_lps=12.0, flow_cutoff_lps=0.3),
            [
                FlowAboveRight(water_right_lps=12.0, hysteresis_lps=0.6),
                PointSilent(),
                FrozenTotalizer(flow_cutoff_lps=0.3),
                *CHECKS,
            ],
        ),
        (
            Point(water_right_lps=40.0, sensor_depth_m=80.0),
            [
                FlowAboveRight(water_right_lps=40.0, hysteresis_lps=2.0),
                PointSilent(),
                FrozenTotalizer(flow_cutoff_lps=0.0),
                *CHECKS,
                WaterTableThreshold(direction=Direction.ABOVE, value=72.0, hysteresis=0.5, for_minutes=10),
            ],
        ),
        (
            Point(sensor_depth_m=10.0),
            [PointSilent(), FrozenTotalizer(), *CHECKS, WaterTableThreshold(value=9.0, hysteresis=0.2, for_minutes=10)],
        ),
    ],
)
def test_a_new_point_gets_default_rules_from_its_facts(point: Point, expected: list[object]) -> None:
    assert default_rules(point) == expected


def test_a_new_gateway_gets_silence_clock_and_buffer_rules() -> None:
    rules = default_gateway_rules()
    assert rules == [GatewaySilent(), ClockOffset(), BufferDropping()]
    assert {rule.scope for rule in rules} == {Scope.GATEWAY}


def test_escalation_defaults_rise_at_24_48_72_hours() -> None:
    assert SubmissionLate().escalation == (
        Escalation(after_hours=24, severity=Severity.INFO),
        Escalation(after_hours=48, severity=Severity.WARNING),
        Escalation(after_hours=72, severity=Severity.CRITICAL),
    )


def test_a_rule_cannot_be_changed_in_place() -> None:
    """Evaluations share one parsed copy of each stored rule (``parsed_rule``)."""
    rule = FlowAboveRight(water_right_lps=12.0)
    with pytest.raises(ValidationError, match="frozen"):
        rule.water_right_lps = 20.0  # type: ignore[misc]
    late = SubmissionLate()
    with pytest.raises(ValidationError, match="frozen"):
        late.escalation[0].after_hours = 1.0  # type: ignore[misc]
    with pytest.raises(AttributeError):
        late.escalation.append(late.escalation[0])  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("config", "water_right_lps", "expected"),
    [
        ('{"kind": "flow_above_right", "water_right_lps": 12}', None, FlowAboveRight(water_right_lps=12.0)),
        ('{"kind": "flow_above_right", "water_right_lps": 12}', 20.0, FlowAboveRight(water_right_lps=20.0)),
        ('{"kind": "point_silent", "minutes": 45}', 20.0, PointSilent(minutes=45)),
    ],
)
def test_a_stored_rule_is_evaluated_with_the_points_current_right(
    config: str, water_right_lps: float | None, expected: object
) -> None:
    assert effective(parsed_rule(config), water_right_lps) == expected


def test_one_stored_text_is_validated_once() -> None:
    config = '{"kind": "level_threshold", "direction": "below", "value": 1.25}'
    assert parsed_rule(config) is parsed_rule(config)
    assert parsed_rule(config) is not parsed_rule(config.replace("1.25", "1.5"))
