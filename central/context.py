"""What one running application owns: settings, database, clock, metrics, secret box, the
notification settings, the alert evaluation queue, the ingest groups, and the regulators compliance reports to
(names and labels, for the alerts and the console).

Built by the app factory (never at import) and reached from routes through the short
dependency aliases in ``central/deps.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio

from central.crypto import SecretBox
from central.db import Database
from central.metrics import Metrics
from central.notify.settings import NotifySettings
from central.regulators import Regulators
from central.settings import Role, Settings
from protocols.clock import Clock

if TYPE_CHECKING:  # the alerts module builds the queue in its setup; the context only holds it
    from central.telemetry.alerts.evaluation_queue import EvaluationQueue
    from central.telemetry.uplink.group_commit import GroupCommit

# Called by ingest with (point ids written, the batch's processed readings) after a batch
# stored something new, off the request path; plain or ``async`` (see central.telemetry.uplink.api).
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
    notify_settings: NotifySettings = field(
        default_factory=NotifySettings
    )  # the environment's, read by the app factory
    alert_queue: EvaluationQueue | None = None  # the alerts module's setup builds it (telemetry role)
    regulators: Regulators = field(default_factory=Regulators)  # compliance's registry, read by the app factory
    ingest_slots: anyio.CapacityLimiter = field(init=False)  # settings.ingest_concurrency threads storing batches
    ingest_groups: GroupCommit | None = None  # telemetry's setup builds it on PostgreSQL (group commit)

    def __post_init__(self) -> None:
        self.ingest_slots = anyio.CapacityLimiter(self.settings.ingest_concurrency)
        key = self.settings.secret_key.get_secret_value() if self.settings.secret_key else None
        self.secret_box = SecretBox(key)
