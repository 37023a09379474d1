"""Installation-wide settings, read from the environment by the app factory (never at import)."""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from protocols.messages_es import problem

Role = Literal["all", "core", "telemetry", "compliance", "alerts"]

ENV_PREFIX = "CAUDAL_"
BAD_SETTING = "configuración inválida"  # what starts every SettingsError: the operator edits the variable it names


class SettingsError(ValueError):
    """A setting from the environment is malformed; the message names the variable."""


class EnvSettings(BaseSettings):
    """A settings model read from ``env_prefix + FIELD`` variables of the process (pydantic-settings).

    Each domain keeps its own model (console, regulators...) with its own prefix and builds it
    with :meth:`from_env`, so this module does not grow with every feature.
    """

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    @classmethod
    def from_env(cls, **overrides: object) -> Self:
        """Build from the environment now (``overrides`` win); a bad value raises
        :class:`SettingsError` naming the variable, which is what the operator edits."""
        try:
            return cls(**overrides)
        except ValidationError as exc:
            raise SettingsError(f"{BAD_SETTING}: {'; '.join(cls._named(dict(err)) for err in exc.errors())}") from None

    @classmethod
    def _named(cls, error: dict[str, Any]) -> str:
        """One problem after the variable it is about: ``env_prefix`` + the field's name, or its
        alias when it has one; an error of the whole model carries its own names."""
        if not error["loc"]:
            return problem(error)
        return f"{cls.model_config.get('env_prefix', '')}{str(error['loc'][0]).upper()}: {problem(error)}"


class Settings(EnvSettings):
    """Installation-wide settings: ``CAUDAL_DATABASE_URL`` -> ``database_url``."""

    database_url: str = "sqlite:///caudal.db"
    secret_key: SecretStr | None = Field(default=None, description="Encrypts stored regulator passwords")
    dga_rut_empresa: str | None = Field(default=None, description="The Centro de Control's RUT")
    auto_migrate: bool = True
    session_ttl_minutes: int = Field(default=12 * 60, gt=0)
    max_body_bytes: int = Field(default=4 * 1024 * 1024, gt=0, description="Largest request body, after gzip")
    future_tolerance_s: float = Field(default=300, ge=0, description="How far past the gateway's clock a ts may be")
    gateway_offline_after_s: float = Field(default=900, gt=0)
    ingest_concurrency: int = Field(
        default=4,
        ge=1,
        le=64,
        description="Batches one process stores at once; the others wait their turn. More at once"
        " only contend for the interpreter, and every other request waits behind them",
    )
    workers: bool = Field(default=True, description="Run the role's background workers (timers) in this process")
    rollup_interval_s: float = Field(
        default=1.0,
        gt=0,
        description="Seconds between hourly-summary worker passes. Short passes spread the refresh:"
        " under a fleet's load a pass every 5 s was a burst that the batches arriving meanwhile waited behind",
    )
    compact_after_days: int = Field(
        default=90,
        ge=0,
        description="PostgreSQL: readings older than this many days are compacted (one row per point,"
        " hour and variable) by the rollup worker; 0 keeps every reading as stored",
    )
    readings_retention_months: int = Field(
        default=0,
        ge=0,
        description="Months of readings kept: 'caudal central readings-retention' detaches the"
        " monthly partitions older than this; 0 keeps everything",
    )
    alert_evaluation: Literal["inline", "role"] = Field(
        default="inline",
        description="inline: the telemetry process evaluates alerts after each batch; role: it only"
        " marks the points written and the alerts role (caudal central serve --role alerts) evaluates them",
    )
