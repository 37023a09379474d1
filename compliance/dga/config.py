"""A work's DGA configuration, validated up front (pydantic, no I/O).

The standard of a work comes from its resolution; the transmission period defaults from it
(Mayor hourly, Medio daily, Menor monthly, Caudales muy pequeños every six months) and can
be overridden when a resolution says otherwise (also fortnightly or yearly). ``caudal_mode``
defaults from the period: average flow for periods longer than an hour (docs/dga.md).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import (
    AwareDatetime,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from compliance.dga.codes import validate_codigo_obra
from compliance.dga.plausibility import PlausibilityLimits, profile_limits
from compliance.fields import BaseUrl, Rut
from compliance.mode import RegulatorConfig
from protocols.profiles import available_profiles
from protocols.uplink import UtcDatetime

PRODUCTION_BASE_URL = "https://apimee.mop.gob.cl"


class Standard(StrEnum):
    MAYOR = "mayor"
    MEDIO = "medio"
    MENOR = "menor"
    MUY_PEQUENO = "muy_pequeno"


class Period(StrEnum):
    HOUR = "hour"
    DAY = "day"
    FORTNIGHT = "fortnight"  # the 1st-15th and the 16th-end of each month
    MONTH = "month"
    SIX_MONTHS = "six_months"
    YEAR = "year"


DEFAULT_PERIOD = {
    Standard.MAYOR: Period.HOUR,
    Standard.MEDIO: Period.DAY,
    Standard.MENOR: Period.MONTH,
    Standard.MUY_PEQUENO: Period.SIX_MONTHS,
}


class WorkType(StrEnum):
    SUBTERRANEA = "subterranea"
    SUPERFICIAL_FLUJOMETRO = "superficial_flujometro"
    SUPERFICIAL = "superficial"

    @property
    def path(self) -> str:
        """The endpoint path (POST to send, GET to check) for this kind of work."""
        return _PATHS[self]


_PATHS = {
    WorkType.SUBTERRANEA: "/api/v1/mediciones/subterraneas",
    WorkType.SUPERFICIAL_FLUJOMETRO: "/api/v1/mediciones/superficiales/flujometro",
    WorkType.SUPERFICIAL: "/api/v1/mediciones/superficiales",
}


class CaudalMode(StrEnum):
    INSTANT = "instant"  # the flow reading at the slot time
    AVERAGE = "average"  # the period's volume (totalizer delta) over its duration


def default_caudal_mode(period: Period, work_type: WorkType) -> CaudalMode:
    """Average flow for periods longer than an hour on works with a totalizer (an instant
    reading at 00:00 says little about a day's or a month's extraction); instant otherwise
    (docs/dga.md, "Caudal (flow) of a slot")."""
    if period is Period.HOUR or work_type is WorkType.SUPERFICIAL:
        return CaudalMode.INSTANT
    return CaudalMode.AVERAGE


class DgaWorkConfig(RegulatorConfig):
    """Everything needed to report one work (obra) to the DGA."""

    model_config = ConfigDict(frozen=True)

    work_type: WorkType
    codigo_obra: str
    standard: Standard
    period: Period | None = None
    caudal_mode: CaudalMode | None = None
    informant_rut: Rut
    informant_password: SecretStr = Field(min_length=1)
    base_url: BaseUrl = PRODUCTION_BASE_URL
    valid_from: AwareDatetime
    valid_to: AwareDatetime | None = None
    grace_minutes: int = Field(default=10, ge=0, le=59)
    instant_window_s: int = Field(default=300, gt=0, le=3600)
    mining_waters: bool = False
    meter_profile: str | None = Field(default=None, description="The meter's profile: default plausibility limits")
    limits: PlausibilityLimits = PlausibilityLimits()

    @model_validator(mode="before")
    @classmethod
    def _without_flow_tolerance(cls, data: Any) -> Any:
        """Configurations stored before over-right flows were sent carry ``flow_tolerance``; it
        no longer holds anything (the ``flow_above_right`` alert has its own tolerance)."""
        if isinstance(data, dict) and "flow_tolerance" in data:
            return {k: v for k, v in data.items() if k != "flow_tolerance"}
        return data

    @field_validator("codigo_obra")
    @classmethod
    def _codigo(cls, value: str) -> str:
        return validate_codigo_obra(value)

    @field_validator("meter_profile")
    @classmethod
    def _known_profile(cls, value: str | None) -> str | None:
        if value is not None and value not in available_profiles():
            raise ValueError(
                f"el perfil de medidor {value!r} no existe; los disponibles son: {', '.join(available_profiles())}"
            )
        return value

    @model_validator(mode="after")
    def _defaults_and_order(self) -> DgaWorkConfig:
        if self.period is None:
            object.__setattr__(self, "period", DEFAULT_PERIOD[self.standard])
        if self.caudal_mode is None:
            object.__setattr__(self, "caudal_mode", default_caudal_mode(self.transmission_period, self.work_type))
        if self.valid_to is not None and self.valid_to <= self.valid_from:
            raise ValueError(f"valid_to {self.valid_to.isoformat()} debe ser posterior a valid_from")
        return self

    @property
    def transmission_period(self) -> Period:
        """The period in force: the override, else the standard's default."""
        return self.period or DEFAULT_PERIOD[self.standard]

    @property
    def caudal_mode_in_force(self) -> CaudalMode:
        """How ``caudal`` is taken: the setting, else the period's default."""
        return self.caudal_mode or default_caudal_mode(self.transmission_period, self.work_type)

    @property
    def plausibility(self) -> PlausibilityLimits:
        """The limits in force: the configured ones over the meter profile's defaults."""
        if self.meter_profile is None:
            return self.limits
        return self.limits.over(profile_limits(self.meter_profile))

    def active_at(self, when: datetime) -> bool:
        """Whether a slot at ``when`` falls in this configuration's validity."""
        return self.valid_from <= when and (self.valid_to is None or when < self.valid_to)


class DgaConfigIn(RegulatorConfig):
    """A work's DGA configuration as a person sends it; leave out the password to keep the stored one."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "mode": "shadow",
                    "work_type": "subterranea",
                    "codigo_obra": "OB-0601-444",
                    "standard": "mayor",
                    "caudal_mode": "instant",
                    "informant_rut": "12345678-5",
                    "informant_password": "clave-snia",
                    "valid_from": "2026-11-01T04:00:00Z",
                }
            ]
        }
    )

    work_type: WorkType
    codigo_obra: str
    standard: Standard
    period: Period | None = None
    caudal_mode: CaudalMode | None = Field(
        default=None,
        description="instant or average; default: average for periods longer than an hour on works with a totalizer",
    )
    informant_rut: str
    informant_password: SecretStr | None = Field(default=None, description="Write-only; omitted keeps the stored one")
    base_url: str | None = Field(default=None, description="Default: the DGA's production address")
    valid_from: UtcDatetime
    valid_to: UtcDatetime | None = None
    grace_minutes: int | None = None
    instant_window_s: int | None = None
    mining_waters: bool = False
    meter_profile: str | None = Field(
        default=None,
        description="A meter profile (protocols/profiles) whose register capacity gives default plausibility limits",
    )
    limits: PlausibilityLimits | None = Field(
        default=None,
        description="Plausible range per variable; a value"
        " outside it is held for a person (a flow above the right is not)",
    )
