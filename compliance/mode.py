"""Whether a regulator configuration reports: off, shadow (build and log, never send) or live."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Mode(StrEnum):
    OFF = "off"
    SHADOW = "shadow"  # build and log the payload, never send it
    LIVE = "live"


class RegulatorConfig(BaseModel):
    """What every regulator's configuration has, stored or as a person sends it: its ``mode``,
    which the worker reads before anything else; unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")

    mode: Mode = Mode.OFF
