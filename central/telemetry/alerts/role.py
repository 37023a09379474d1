"""The alerts role: alert evaluation, the alert timer and the notification outbox in a process
of their own, so that they never compete with ingest for the GIL (issue 16).

Active in ``caudal central serve --role alerts`` and, with ``CAUDAL_ALERT_EVALUATION=role``,
in ``--role all`` (where the telemetry module then leaves these workers to it). It serves no
routes besides the health checks; the telemetry role marks the points each batch wrote
(:mod:`.pending`) and this role evaluates them every PENDING_S.
"""

from __future__ import annotations

from central.context import AppContext
from central.notify.outbox import outbox_worker
from central.workers import Worker

from .api import alert_timer, evaluation_worker
from .pending import evaluate_pending

PENDING_S = 1.0
routers: list = []


def active(ctx: AppContext) -> bool:
    return ctx.role == "alerts" or ctx.settings.alert_evaluation == "role"


def pending_worker(ctx: AppContext) -> Worker:
    return evaluation_worker(ctx, "alert_evaluation", evaluate_pending, PENDING_S)


def workers(ctx: AppContext) -> list[Worker]:
    return [pending_worker(ctx), alert_timer(ctx), outbox_worker(ctx)] if active(ctx) else []
