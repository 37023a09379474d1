"""What one worker pass did, line by line (printed by ``caudal compliance run-once``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Action:
    """One thing the worker did to one slot."""

    point: str
    regulator: str
    slot: datetime
    action: str  # created, rechecked, shadowed, sent, resolved, checked, skipped, error
    state: str
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "slot": self.slot.isoformat()}
