"""Installation-wide settings, read from the environment by the app factory (never at import)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

M = TypeVar("M", bound=BaseModel)
Role = Literal["all", "core", "telemetry", "compliance", "alerts"]

ENV_PREFIX = "CAUDAL_"


class SettingsError(ValueError):
    """A setting from the environment is malformed; the message names the variable."""


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    database_url: str = "sqlite:///caudal.db"
    secret_key: SecretStr | None = Field(default=None, description="Encrypts stored regulator passwords")
    dga_rut_empresa: str | None = Field(default=None, description="The Centro de Control's RUT")
    auto_migrate: bool = True
    session_ttl_minutes: int = Field(default=12 * 60, gt=0)
    max_body_bytes: int = Field(default=4 * 1024 * 1024, gt=0, description="Largest request body, after gzip")
    future_tolerance_s: float = Field(default=300, ge=0, description="How far past the gateway's clock a ts may be")
    gateway_offline_after_s: float = Field(default=900, gt=0)
    workers: bool = Field(default=True, description="Run the role's background workers (timers) in this process")
    rollup_interval_s: float = Field(default=5.0, gt=0, description="Seconds between hourly-summary worker passes")
    alert_evaluation: Literal["inline", "role"] = Field(
        default="inline", description="inline: the telemetry process evaluates alerts after each batch; role: it only"
        " marks the points written and the alerts role (caudal central serve --role alerts) evaluates them")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Build from ``CAUDAL_*`` variables (``CAUDAL_DATABASE_URL`` -> ``database_url``)."""
        return model_from_env(cls, environ, ENV_PREFIX, **overrides)


def model_from_env(
    model: type[M], environ: Mapping[str, str] | None, prefix: str, **overrides: object
) -> M:
    """Fill ``model`` from ``PREFIX + FIELD`` variables; errors name the variable.

    Each domain keeps its own settings model (SMTP, regulators...) and builds it with this,
    so this module does not grow with every feature.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for name in model.model_fields:
        key = prefix + name.upper()
        if key in environ:
            values[name] = environ[key]
    values.update(overrides)
    try:
        return model(**values)
    except ValidationError as exc:
        problems = "; ".join(f"{prefix}{str(err['loc'][0]).upper()}: {err['msg']}" for err in exc.errors())
        raise SettingsError(f"bad setting: {problems}") from None
