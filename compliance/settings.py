"""The compliance service's own settings (``CAUDAL_COMPLIANCE_*``), validated up front."""

from __future__ import annotations

import os
import socket

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from central.settings import BAD_SETTING, EnvSettings, Settings, SettingsError
from compliance.dga.rut import InvalidRut, normalize_rut

PREFIX = "CAUDAL_COMPLIANCE_"


class ComplianceSettings(EnvSettings):
    """How the submission worker runs. Defaults follow the DGA's rules; tests shorten the waits."""

    model_config = SettingsConfigDict(env_prefix=PREFIX)

    interval_s: float = Field(default=60, gt=0, description="Pause between worker passes")
    backfill_days: int = Field(default=31, ge=1, le=366, description="How far back missing DGA slots are created")
    late_data_days: int | None = Field(
        default=None,
        ge=90,
        description="How far back a gap is filled when its readings arrive late; unset: back to the work's valid_from",
    )
    claim_s: float = Field(default=120, gt=0, description="How long a claim on a slot or a work lasts")
    min_interval_s: float = Field(default=1.0, ge=0, description="Pacing between requests to one regulator")
    timeout_s: float = Field(default=15, gt=0, description="HTTP timeout of one request")
    sma_backfill_days: int = Field(
        default=7, ge=1, le=31, description="How far back missing SMA timestamps are created (and reported late)"
    )
    sma_window_s: int = Field(default=60, gt=0, description="How far from a timestamp an SMA reading may be")
    sma_grace_s: int = Field(default=120, ge=0, description="Wait after a timestamp before reporting it")
    worker_id: str = Field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}", min_length=1)


def rut_empresa(settings: Settings) -> str | None:
    """The Centro de Control's RUT (``CAUDAL_DGA_RUT_EMPRESA``), normalised; a bad one is refused."""
    if settings.dga_rut_empresa is None:
        return None
    try:
        return normalize_rut(settings.dga_rut_empresa)
    except InvalidRut as exc:
        raise SettingsError(f"{BAD_SETTING}: CAUDAL_DGA_RUT_EMPRESA: {exc}") from None
