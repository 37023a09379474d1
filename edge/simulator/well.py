"""A pumped well, simulated: what simulated meters and level probes report.

Pure and deterministic: the model is advanced to times a :class:`~protocols.clock.Clock` gives
it, and its noise depends only on the seed and the second, not on how often it is asked. Flow
is constant within each second, so the totalizer is exactly the integral of the flow the
meters showed; the level draws down exponentially while the pump runs and recovers when it
stops, which is what the central cross-checks (frozen totalizer vs. level) expect to see.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator


class WellParams(BaseModel):
    """How the simulated well behaves."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    flow_lps: float = Field(default=12.0, ge=0, description="flow while the pump runs")
    noise: float = Field(default=0.02, ge=0, le=0.5, description="relative flow noise (std. dev.)")
    exceed_factor: float = Field(default=1.0, gt=0, description="multiplies flow, >1 exceeds the water right")
    pump_on_s: int = Field(default=1800, ge=0)
    pump_off_s: int = Field(default=1800, ge=0)
    static_level_m: float = Field(default=40.0, ge=0, description="water column above the sensor at rest")
    drawdown_m: float = Field(default=8.0, ge=0, description="level drop after long pumping")
    response_s: float = Field(default=600.0, gt=0, description="time constant of drawdown and recovery")
    sensor_depth_m: float = Field(default=60.0, ge=0, description="sensor depth below the surface")
    initial_totalizer_m3: float = Field(default=125_000.0, ge=0)

    @model_validator(mode="after")
    def _has_a_cycle(self) -> WellParams:
        if self.pump_on_s + self.pump_off_s == 0:
            raise ValueError("pump_on_s y pump_off_s no pueden ser ambos 0")
        if self.drawdown_m > self.static_level_m:
            raise ValueError("drawdown_m no puede superar static_level_m (el sensor quedaría en seco)")
        return self

    def pumping_at(self, second: int) -> bool:
        """Whether the pump runs during ``second`` seconds after the start (on first, then off)."""
        return second % (self.pump_on_s + self.pump_off_s) < self.pump_on_s


@dataclass(frozen=True)
class WellReading:
    """The well's state at one instant, in canonical units."""

    ts: datetime
    pumping: bool
    flow: float  # L/s
    totalizer: float  # m3
    level: float  # m of water above the sensor
    water_table: float  # m from the surface down to the water

    def value(self, variable: str) -> float | None:
        """The value of a canonical variable, None for one the well does not produce."""
        values = {"flow": self.flow, "totalizer": self.totalizer, "level": self.level, "water_table": self.water_table}
        return values.get(variable)


class PumpedWell:
    """The well's state, advanced second by second to the times it is given."""

    def __init__(self, params: WellParams, start: datetime, seed: int = 0) -> None:
        self.params = params
        self.start = start
        self.seed = seed
        self._elapsed = 0.0
        self._totalizer = params.initial_totalizer_m3
        self._level = params.static_level_m

    def flow_in(self, second: int) -> float:
        """The flow (L/s) during ``second`` seconds after the start: same seed, same flow."""
        if not self.params.pumping_at(second):
            return 0.0
        jitter = random.Random(self.seed * 1_000_003 + second).gauss(0.0, self.params.noise)
        return max(0.0, self.params.flow_lps * self.params.exceed_factor * (1.0 + jitter))

    def advance_to(self, now: datetime) -> WellReading:
        """Move the model to ``now`` and return its state there (time never goes back)."""
        target = (now - self.start).total_seconds()
        if target < self._elapsed:
            raise ValueError(f"el modelo del pozo está en {self._elapsed} s, no puede volver a {target} s")
        while self._elapsed < target:
            second = math.floor(self._elapsed)
            step = min(second + 1.0, target) - self._elapsed
            self._integrate(second, step)
            self._elapsed += step
        return self._reading(now)

    def _integrate(self, second: int, step: float) -> None:
        params = self.params
        self._totalizer += self.flow_in(second) * step / 1000.0
        target = params.static_level_m - (params.drawdown_m if params.pumping_at(second) else 0.0)
        self._level += (target - self._level) * (1.0 - math.exp(-step / params.response_s))

    def _reading(self, now: datetime) -> WellReading:
        second = math.floor(self._elapsed)
        return WellReading(
            ts=now,
            pumping=self.params.pumping_at(second),
            flow=self.flow_in(second),
            totalizer=self._totalizer,
            level=self._level,
            water_table=self.params.sensor_depth_m - self._level,
        )
