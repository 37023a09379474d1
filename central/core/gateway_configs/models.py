"""What a gateway's configuration versions and status look like from outside."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

MAX_DOCUMENT_CHARS = 200_000


class ConfigVersionCreate(BaseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "document": "buses:\n  - {name: plc, type: tcp, host: 192.168.1.20}\ndevices:\n"
                    "  - {name: pozo-1, bus: plc, unit_id: 1, point: OB-0101-12, profile: siemens-mag6000}\n",
                    "reason": "caudalímetro nuevo en el pozo 1",
                }
            ]
        }
    }

    document: str = Field(
        min_length=1,
        max_length=MAX_DOCUMENT_CHARS,
        description="The gateway's buses and devices, as in site.yaml (no gateway: section)",
    )
    reason: str = Field(min_length=1, max_length=500, description="Why: shown in the version history")


class ConfigVersion(BaseModel):
    version: int
    reason: str
    created_by: str
    created_at: datetime
    published: bool = Field(description="The version the gateway is asked to run")


class ConfigVersionDetail(ConfigVersion):
    document: str
    diff: str = Field(description="Unified diff from the previous version (empty for the first)")


class ConfigDiff(BaseModel):
    gateway: str
    base: int
    version: int
    diff: str = Field(description="Unified diff from version base to version (empty when they are equal)")


class ConfigStatus(BaseModel):
    """A gateway's configuration as its agent last reported it, with the health figures next to it."""

    name: str
    config_source: str | None = Field(
        description="local: the gateway ignores the server's configuration;"
        " central: it runs the published one; None: not reported yet"
    )
    running_version: int | None = Field(description="The configuration version the agent runs")
    published_version: int | None = Field(description="The version published for the gateway")
    pending_version: int | None = Field(description="The published version while the agent runs another one")
    last_result: str | None = Field(
        description="The agent's last apply result: applied, refused (its errors), rolled back"
    )
    reported_at: datetime | None
    agent_version: str | None
    clock_offset_s: float | None = Field(description="Gateway clock minus server clock at its last batch, s")
    buffer_depth: int | None = Field(description="Readings waiting on the gateway to be sent")
    dropped_total: int | None = Field(description="Readings dropped or set aside on the gateway since install")
