"""A simulated Modbus device: a meter profile's registers filled from the well model.

The register image is written with :func:`protocols.registers.encode_reading`, the exact inverse
of what the agent decodes, so "profile test" means: simulated device holding known values,
read over a real Modbus transport, decoded, compared. Faults reproduce what field devices do:
not answer, answer with an exception code, or report NaN for a broken channel.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from edge.simulator.well import WellReading
from protocols.profiles import load_profile
from protocols.registers import RegisterSpec, Table, encode_reading
from protocols.registerwords import FLOAT_TYPES, encode_number

# Range given to loop profiles (generic-4-20ma) when the simulator is not told one.
DEFAULT_LOOP = {"low": 0.0, "high": 100.0}


class Fault(StrEnum):
    NONE = "none"
    SILENT = "silent"  # never answers (dead slave, wrong unit id)
    EXCEPTION = "exception"  # answers with a Modbus exception code
    NAN = "nan"  # float registers hold NaN (channel error)


class DeviceConfig(BaseModel):
    """One simulated device on a simulator's bus."""

    model_config = ConfigDict(extra="forbid")

    profile: str
    unit_id: int = Field(ge=1, le=247)
    fault: Fault = Fault.NONE
    exception_code: int = Field(default=4, ge=1, le=11, description="for fault=exception; 4 = device failure")
    overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)
    fixed: dict[str, float] = Field(default_factory=dict, description="canonical values that override the well")

    @model_validator(mode="after")
    def _profile_fits(self) -> DeviceConfig:
        _specs(self)  # unknown profile, bad override: fail here, before anything is served
        return self


class SimulatedDevice:
    """One device's register image, refreshed from well readings."""

    def __init__(self, config: DeviceConfig) -> None:
        self.config = config
        self.specs = _specs(config)
        self.image: dict[Table, dict[int, int]] = {table: {} for table in Table}
        for spec in self.specs:
            self._store(spec, [0] * spec.count)

    @property
    def unit_id(self) -> int:
        return self.config.unit_id

    @property
    def answers(self) -> bool:
        return self.config.fault is not Fault.SILENT

    @property
    def exception_code(self) -> int | None:
        return self.config.exception_code if self.config.fault is Fault.EXCEPTION else None

    def layout(self, table: Table) -> list[tuple[int, int]]:
        """(address, count) of every register the device has in ``table``."""
        return sorted((spec.address, spec.count) for spec in self.specs if spec.table == table)

    def refresh(self, reading: WellReading) -> None:
        """Write the current values of the well (or the fixed ones) into the registers."""
        for spec in self.specs:
            value = self.config.fixed.get(spec.variable, reading.value(spec.variable))
            if value is None:
                continue
            try:
                self._store(spec, self._words(spec, value))
            except ValueError:
                continue  # the register cannot hold it (e.g. negative in uint16): keep the last value

    def words(self, table: Table, address: int, count: int) -> list[int]:
        """The image's words for a read request (0 where the device has nothing)."""
        held = self.image[table]
        return [held.get(address + i, 0) for i in range(count)]

    def _words(self, spec: RegisterSpec, value: float) -> list[int]:
        if self.config.fault is Fault.NAN and spec.type in FLOAT_TYPES:
            return encode_number(math.nan, spec.type, spec.word_order, spec.byte_swap)
        return encode_reading(spec, value)

    def _store(self, spec: RegisterSpec, words: list[int]) -> None:
        for i, word in enumerate(words):
            self.image[spec.table][spec.address + i] = word


def _specs(config: DeviceConfig) -> list[RegisterSpec]:
    profile = load_profile(config.profile)
    overrides: Mapping[str, Mapping[str, Any]] = config.overrides
    if "loop" in profile.requires:
        loops = {
            spec.variable: {"loop": DEFAULT_LOOP, **overrides.get(spec.variable, {})} for spec in profile.registers
        }
        overrides = {**overrides, **loops}
    return profile.registers_with(overrides)
