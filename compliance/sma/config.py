"""A point's SMA reporting configuration, validated up front (pure).

Parameters, units and cadence come from each environmental permit, so all of it is
configuration. The manual does not state the time zone of ``estampaTiempo``; it is an
explicit setting (``timestamp_utc_offset_hours``, a fixed offset, no default) confirmed with
the SMA at onboarding (docs/sma.md).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from compliance.fields import BaseUrl, Rut
from compliance.mode import RegulatorConfig

PRODUCTION_BASE_URL = "https://conexiones.sma.gob.cl"
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]


class SmaParameter(BaseModel):
    """One reported parameter: which canonical variable feeds it, its SMA name and unit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    variable: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    nombre: str = Field(min_length=1, max_length=32)
    unidad: str = Field(min_length=1, max_length=16)
    decimals: int = Field(default=2, ge=0, le=6)


class SmaPointConfig(RegulatorConfig):
    """Everything needed to report one point's device to the SMA."""

    model_config = ConfigDict(frozen=True)

    uf_id: Id
    proceso_id: Id
    dispositivo_id: Id
    parameters: tuple[SmaParameter, ...] = Field(min_length=1)
    cadence_minutes: int = Field(default=5, ge=1, le=1440)
    usuario: Rut
    password: SecretStr = Field(min_length=1)
    base_url: BaseUrl = PRODUCTION_BASE_URL
    timestamp_utc_offset_hours: int = Field(
        ge=-12,
        le=14,
        description="The fixed UTC offset of estampaTiempo (docs/sma.md); no default: confirm it at onboarding",
    )

    @model_validator(mode="after")
    def _unique(self) -> SmaPointConfig:
        for attribute in ("nombre", "variable"):
            seen = [getattr(p, attribute) for p in self.parameters]
            duplicates = sorted({name for name in seen if seen.count(name) > 1})
            if duplicates:
                raise ValueError(f"parameters repeat {attribute} {', '.join(duplicates)}")
        return self

    @property
    def registros_path(self) -> str:
        return f"/api/v1/ufs/{self.uf_id}/procesos/{self.proceso_id}/registros"


class SmaConfigIn(RegulatorConfig):
    """A point's SMA configuration; leave out the password to keep the stored one."""

    uf_id: str
    proceso_id: str
    dispositivo_id: str
    parameters: list[SmaParameter]
    cadence_minutes: int | None = None
    usuario: str
    password: SecretStr | None = Field(default=None, description="Write-only; omitted keeps the stored one")
    base_url: str | None = None
    timestamp_utc_offset_hours: int = Field(
        description="The fixed UTC offset of estampaTiempo, e.g. -4 or 0;"
        " confirmed with the SMA at onboarding (docs/sma.md)"
    )
