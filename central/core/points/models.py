"""What a catchment point (obra de captación) is, and the rules every stored point satisfies.

A point's ``code`` is its identity towards the regulators (a DGA ``codigoObra`` such as
``OB-0101-12``, or an installation's own code) and never changes.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

PointKind = Literal["subterranea", "superficial", "superficial_flujometro", "other"]
PointStatus = Literal["active", "inactive", "maintenance"]

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
DGA_CODE = re.compile(r"^O[BR]-\d{4}-\d+$")
_LOOKS_DGA = re.compile(r"^O[BR]-")

POINT_EXAMPLE = {
    "code": "OB-0101-12",
    "name": "Pozo 1 Fundo El Olivo",
    "kind": "subterranea",
    "latitude": -33.45,
    "longitude": -70.66,
    "water_right_lps": 25.0,
    "sensor_depth_m": 42.0,
    "flow_cutoff_lps": 0.2,
    "status": "active",
}
"""The point the API documentation shows: the body of a ``POST`` and, with its id, gateway and
times, the answer."""

EDITABLE = ("name", "kind", "latitude", "longitude", "water_right_lps", "sensor_depth_m", "flow_cutoff_lps", "status")


def is_dga_code(code: str) -> bool:
    """Whether ``code`` is a DGA codigoObra (``OB-0101-12``, ``OR-0502-7``)."""
    return DGA_CODE.match(code) is not None


class PointFields(BaseModel):
    """Everything about a point except its code; the rules every stored point satisfies."""

    model_config = {"extra": "forbid"}

    name: str = Field(min_length=1, max_length=200)
    kind: PointKind
    latitude: float | None = Field(default=None, ge=-90, le=90, description="WGS84 degrees; south is negative")
    longitude: float | None = Field(default=None, ge=-180, le=180, description="WGS84 degrees; west is negative")
    water_right_lps: float | None = Field(default=None, ge=0, description="Granted extraction right, L/s")
    sensor_depth_m: float | None = Field(default=None, ge=0, description="Level sensor depth below the collar, m")
    flow_cutoff_lps: float = Field(default=0, ge=0, description="Flows below this count as zero, L/s")
    status: PointStatus = "active"

    @model_validator(mode="after")
    def _position_is_a_pair(self) -> PointFields:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude y longitude van juntas: dé las dos o ninguna")
        return self


class PointCreate(PointFields):
    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [POINT_EXAMPLE],
        },
    }

    code: str = Field(pattern=CODE_PATTERN, description="DGA codigoObra (OB-0101-12) or an own code")

    @field_validator("code")
    @classmethod
    def _dga_codes_are_well_formed(cls, code: str) -> str:
        if _LOOKS_DGA.match(code) and not is_dga_code(code):
            raise ValueError(
                f"{code!r} empieza como un codigoObra de la DGA pero no lo es (se espera algo como OB-0101-12)"
            )
        return code


class PointUpdate(BaseModel):
    """A partial change: fields left out keep their value; ``null`` clears an optional one."""

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [
                {"status": "maintenance"},
                {"water_right_lps": 30.0, "flow_cutoff_lps": 0.5},
            ]
        },
    }

    name: str | None = None
    kind: PointKind | None = None
    latitude: float | None = None
    longitude: float | None = None
    water_right_lps: float | None = None
    sensor_depth_m: float | None = None
    flow_cutoff_lps: float | None = None
    status: PointStatus | None = None


class Point(BaseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "id": 1,
                    **POINT_EXAMPLE,
                    "gateway": "fundo-el-olivo",
                    "created_at": "2026-11-28T13:00:00Z",
                    "updated_at": "2026-11-28T13:00:00Z",
                }
            ]
        }
    }

    id: int
    code: str
    name: str
    kind: PointKind
    latitude: float | None
    longitude: float | None
    water_right_lps: float | None
    sensor_depth_m: float | None
    flow_cutoff_lps: float
    status: PointStatus
    gateway: str | None = Field(description="The gateway that reports this point, if any")
    created_at: datetime
    updated_at: datetime
