"""What one running application owns: settings, database, clock, metrics, secret box, and the
regulators compliance reports to (names and labels, for the alerts and the console).

Built by the app factory (never at import) and reached from routes through the short
dependency aliases in ``central/deps.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from central.crypto import SecretBox
from central.db import Database
from central.metrics import Metrics
from central.regulators import Regulators
from central.settings import Role, Settings
from protocols.clock import Clock

# Called by ingest with (point ids written, the batch's processed readings) after a batch
# stored something new, off the request path; plain or ``async`` (see central.telemetry.api).
OnIngest = Callable[[list[int], Sequence[Any]], Any]


@dataclass
class AppContext:
    settings: Settings
    db: Database
    clock: Clock
    role: Role
    metrics: Metrics = field(default_factory=Metrics)
    secret_box: SecretBox = field(init=False)
    on_ingest: OnIngest | None = None  # alert evaluation sets it when it runs inline
    extras: dict[str, Any] = field(default_factory=dict)  # per-domain services, keyed by module name
    regulators: Regulators = field(default_factory=Regulators)  # compliance's registry, read by the app factory

    def __post_init__(self) -> None:
        key = self.settings.secret_key.get_secret_value() if self.settings.secret_key else None
        self.secret_box = SecretBox(key)
