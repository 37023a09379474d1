"""The pumped-well model: flow, a totalizer that integrates it, a level that draws down."""

from __future__ import annotations

from datetime import timedelta

import pytest

from edge.simulator.well import PumpedWell, WellParams
from protocols.clock import ManualClock


def test_totalizer_is_the_integral_of_the_flow_over_an_hour(clock: ManualClock) -> None:
    well = PumpedWell(WellParams(pump_on_s=1200, pump_off_s=600), clock.now(), seed=7)
    start = well.advance_to(clock.now())
    volume_l = 0.0
    for _ in range(3600):
        volume_l += well.advance_to(clock.now()).flow * 1.0
        clock.advance(1)
    end = well.advance_to(clock.now())
    assert end.totalizer - start.totalizer == pytest.approx(volume_l / 1000.0, rel=1e-9)
    assert volume_l / 1000.0 == pytest.approx(12.0 * 2400 / 1000.0, rel=0.01)  # 40 of 60 minutes pumping


def test_jumping_an_hour_gives_the_same_state_as_stepping(clock: ManualClock) -> None:
    stepped = PumpedWell(WellParams(), clock.now(), seed=3)
    jumped = PumpedWell(WellParams(), clock.now(), seed=3)
    for second in range(1, 3601):
        by_steps = stepped.advance_to(clock.now() + timedelta(seconds=second))
    at_once = jumped.advance_to(clock.now() + timedelta(seconds=3600))
    assert (at_once.totalizer, at_once.level) == pytest.approx((by_steps.totalizer, by_steps.level))


def test_level_draws_down_while_pumping_and_recovers_when_off(clock: ManualClock) -> None:
    params = WellParams(pump_on_s=1800, pump_off_s=1800, static_level_m=40.0, drawdown_m=8.0, response_s=600.0)
    well = PumpedWell(params, clock.now())
    at = [well.advance_to(clock.now() + timedelta(seconds=s)) for s in (0, 1800, 3600)]
    assert [(r.pumping, round(r.level, 2)) for r in at] == [(True, 40.0), (False, 32.4), (True, 39.62)]


def test_water_table_is_sensor_depth_minus_level(clock: ManualClock) -> None:
    reading = PumpedWell(WellParams(sensor_depth_m=60.0, static_level_m=40.0), clock.now()).advance_to(clock.now())
    assert reading.water_table == 20.0


def test_no_flow_while_the_pump_is_off(clock: ManualClock) -> None:
    well = PumpedWell(WellParams(pump_on_s=10, pump_off_s=10), clock.now(), seed=1)
    assert [well.flow_in(s) == 0.0 for s in (0, 9, 10, 19, 20)] == [False, False, True, True, False]


def test_same_seed_same_flows_other_seed_other_flows(clock: ManualClock) -> None:
    flows = {seed: [PumpedWell(WellParams(), clock.now(), seed).flow_in(s) for s in range(5)] for seed in (1, 1, 2)}
    assert flows[1] == [PumpedWell(WellParams(), clock.now(), 1).flow_in(s) for s in range(5)]
    assert flows[1] != flows[2]


def test_exceed_factor_scales_the_flow(clock: ManualClock) -> None:
    normal = PumpedWell(WellParams(noise=0.0), clock.now())
    exceeding = PumpedWell(WellParams(noise=0.0, exceed_factor=1.25), clock.now())
    assert (normal.flow_in(0), exceeding.flow_in(0)) == (12.0, 15.0)


def test_time_does_not_go_back(clock: ManualClock) -> None:
    well = PumpedWell(WellParams(), clock.now())
    well.advance_to(clock.now() + timedelta(seconds=10))
    with pytest.raises(ValueError) as raised:
        well.advance_to(clock.now())
    assert str(raised.value) == "el modelo del pozo está en 10.0 s, no puede volver a 0.0 s"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"pump_on_s": 0, "pump_off_s": 0}, "Value error, pump_on_s y pump_off_s no pueden ser ambos 0"),
        (
            {"static_level_m": 5.0, "drawdown_m": 6.0},
            "Value error, drawdown_m no puede superar static_level_m (el sensor quedaría en seco)",
        ),
    ],
)
def test_impossible_wells_are_refused(params: dict, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        WellParams(**params)
    assert raised.value.errors()[0]["msg"] == message
