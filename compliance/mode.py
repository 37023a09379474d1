"""Whether a regulator configuration reports: off, shadow (build and log, never send) or live."""

from __future__ import annotations

from enum import StrEnum


class Mode(StrEnum):
    OFF = "off"
    SHADOW = "shadow"  # build and log the payload, never send it
    LIVE = "live"
