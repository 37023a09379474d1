"""What a gateway looks like from outside, and the changes the API accepts for one."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, field_validator

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


def unique_codes(codes: list[str]) -> list[str]:
    """The codes in their order, each once."""
    return list(dict.fromkeys(codes))


class _PointCodes(BaseModel):
    @field_validator("points", check_fields=False)
    @classmethod
    def _once_each(cls, codes: list[str]) -> list[str]:
        return unique_codes(codes)


class GatewayCreate(_PointCodes):
    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [
                {"name": "fundo-el-olivo", "points": ["OB-0101-12", "OB-0101-13"]},
            ]
        },
    }

    name: str = Field(pattern=NAME_PATTERN, description="Letters, digits, '.', '_', '-'")
    points: list[str] = Field(default_factory=list, description="Codes of the points it reports")


class GatewayPointsUpdate(_PointCodes):
    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [{"points": ["OB-0101-12"]}]}}

    points: list[str] = Field(description="The complete new list of point codes")


class GatewayInfo(BaseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "name": "fundo-el-olivo",
                    "points": ["OB-0101-12"],
                    "online": True,
                    "created_at": "2026-11-01T10:00:00Z",
                    "token_created_at": "2026-11-01T10:00:00Z",
                    "revoked_at": None,
                    "last_seen_at": "2026-11-28T12:59:30Z",
                    "clock_offset_s": 0.4,
                    "agent_version": "0.1.0",
                    "buffer_depth": 0,
                    "oldest_unsent_s": 0.0,
                    "dropped_total": 0,
                    "clock_synced": True,
                }
            ]
        }
    }

    name: str
    points: list[str]
    online: bool = Field(description="Seen within the offline threshold and not revoked")
    created_at: datetime
    token_created_at: datetime
    revoked_at: datetime | None
    last_seen_at: datetime | None
    clock_offset_s: float | None = Field(description="Gateway clock minus server clock at its last batch, s")
    agent_version: str | None
    buffer_depth: int | None = Field(description="Readings waiting on the gateway to be sent")
    oldest_unsent_s: float | None = Field(description="Age of the oldest unsent reading, s")
    dropped_total: int | None = Field(description="Readings the gateway had to drop (buffer full) since install")
    clock_synced: bool | None


class GatewayToken(BaseModel):
    """A gateway's new token: the only time it is shown."""

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "name": "fundo-el-olivo",
                    "token": "cau_g_Xq3...",
                    "token_created_at": "2026-11-28T13:00:00Z",
                }
            ]
        }
    }

    name: str
    token: str = Field(description="Shown only now; put it in the gateway's configuration")
    token_created_at: datetime


class NewGateway(GatewayInfo):
    """A created gateway and its token: the only time the token is shown."""

    token: str = Field(description="Shown only now; put it in the gateway's configuration")
