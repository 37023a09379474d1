"""What the audit trail answers: one entry per change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class AuditEntry(BaseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "id": 17,
                    "at": "2026-11-28T13:00:00Z",
                    "actor": "ana",
                    "action": "point.created",
                    "subject": "point:OB-0101-12",
                    "detail": {"name": "Pozo 1", "kind": "subterranea"},
                }
            ]
        }
    }

    id: int
    at: datetime
    actor: str = Field(description="Username, or cli:<os user> for the command line")
    action: str = Field(description="What happened, as <thing>.<verb>")
    subject: str = Field(description="What it happened to, as <kind>:<name>")
    detail: dict[str, Any]
