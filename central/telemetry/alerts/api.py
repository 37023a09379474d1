"""Alert routes, the ingest hook, the timer and the outbox worker of the telemetry service.

- ``/api/v1/alerts`` (list, one, ``POST .../ack``): visible points only; a gateway's alerts to
  admins and to whoever sees one of its points.
- ``/api/v1/points/{code}/alert-rules``: list (defaults appear on first look), replace (PUT,
  admins), change one (PATCH ``.../{id}``, admins). ``/api/v1/gateways/{name}/alert-rules``
  the same for gateways (admins).
- ``setup``: the ``on_ingest`` hook (it queues the batch for the in-order evaluation
  thread, see :class:`.evaluation_queue.EvaluationQueue`), the ``caudal_alerts{state,severity}``
  gauges, and the readings waiting for evaluation (``caudal_alert_queue_readings``).
- ``workers``: the 30-second alert timer, the notification outbox, and the drain that
  evaluates what is still queued when the app stops.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Annotated, Any, Union, get_args
from uuid import UUID

from fastapi import APIRouter, Body, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError, create_model

from central.context import AppContext
from central.core.audit import store as audit
from central.core.auth.models import User
from central.core.gateways.service import gateway_by_name
from central.core.points.service import visible_point
from central.core.routes import read
from central.db import Connection
from central.deps import AdminUser, Ctx, CurrentUser
from central.errors import ApiError, error_responses, invalid_body
from central.notify.outbox import outbox_worker
from central.pagination import Page, PageQuery, Paging
from central.timerange import Range
from central.workers import Worker, every

from . import rule_store, store
from .evaluation_queue import EvaluationQueue
from .lifecycle import AlertStatus, LifecycleError, acknowledge
from .rule_store import RuleProblem, StoredRule
from .rules import Rule, Scope, Severity, parse_rule
from .service import evaluate_timer
from .store import AlertFilter, AlertOut

log = logging.getLogger("caudal.central.alerts")

TIMER_S = 30.0
DRAIN_S = 8.0  # within the app's shutdown grace

router = APIRouter(tags=["alerts"], responses=error_responses(401))
routers = [router]


def _with_id(model: type[BaseModel]) -> type[BaseModel]:
    return create_model(
        f"{model.__name__}Item",
        __base__=model,
        id=(int | None, Field(default=None, description="Absent for a new rule")),
    )


RuleItem = Annotated[
    Union[tuple(_with_id(m) for m in get_args(get_args(Rule)[0]))],  # noqa: UP007
    Field(discriminator="kind"),
]


def _items(rules: Iterable[StoredRule]) -> list[dict[str, Any]]:
    return [{**stored.rule.model_dump(mode="json"), "id": stored.id} for stored in rules]


def _page(items: list[dict[str, Any]], paging: PageQuery) -> Page[RuleItem]:
    """One page of a subject's rules (read whole: a subject's defaults are made on first look)."""
    return Page[RuleItem](
        items=items[paging.offset : paging.offset + paging.limit],
        total=len(items),
        limit=paging.limit,
        offset=paging.offset,
    )


# --- alerts -------------------------------------------------------------------------------------


@router.get("/api/v1/alerts", summary="Alerts you may see, newest first")
def get_alerts(
    user: CurrentUser,
    ctx: Ctx,
    paging: Paging,
    span: Range,
    status: Annotated[list[AlertStatus] | None, Query(description="Repeat for several")] = None,
    severity: Annotated[list[Severity] | None, Query(description="Repeat for several")] = None,
    point: Annotated[str | None, Query(description="A point's code")] = None,
) -> Page[AlertOut]:
    """Alerts live at some time in ``[from, to)`` (opened before ``to``, not cleared before ``from``)."""
    chosen = AlertFilter(status=status, severity=severity, point=point, live_from=span.start, live_to=span.end)
    return read(ctx, store.list_alerts, user, chosen, paging)


def _visible(conn: Connection, user: User, alert_id: UUID) -> AlertOut:
    found = store.visible_alert(conn, user, alert_id)
    if found is None:
        raise ApiError(404, f"no hay una alerta {alert_id}")
    return found


@router.get("/api/v1/alerts/{alert_id}", summary="One alert", responses=error_responses(404))
def get_alert(alert_id: UUID, user: CurrentUser, ctx: Ctx) -> AlertOut:
    return read(ctx, _visible, user, alert_id)


ACK_EXAMPLES = {
    "comment": {"summary": "Take charge, saying what you do", "value": {"comment": "on my way"}},
    "bare": {"summary": "Take charge without a comment", "value": {}},
}
POINT_RULES_EXAMPLES = {
    "rules": {
        "summary": "Keep a rule (by id) and add a new one",
        "value": [
            {"id": 1, "kind": "flow_above_right", "water_right_lps": 25.0, "tolerance": 1.05, "for_minutes": 10},
            {"kind": "point_silent", "minutes": 45, "severity": "warning"},
        ],
    }
}
GATEWAY_RULES_EXAMPLES = {
    "rules": {
        "summary": "Silence and clock rules of a gateway",
        "value": [{"kind": "gateway_silent", "minutes": 20}, {"kind": "clock_offset", "tolerance_s": 120}],
    }
}
RULE_CHANGE_EXAMPLES = {
    "disable": {"summary": "Turn a rule off", "value": {"enabled": False}},
    "retune": {"summary": "Change its parameters", "value": {"for_minutes": 15}},
}


class AckIn(BaseModel):
    model_config = {"extra": "forbid"}

    comment: str | None = Field(default=None, max_length=2000)


AckBody = Annotated[AckIn | None, Body(openapi_examples=ACK_EXAMPLES)]
PointRules = Annotated[list[RuleItem], Body(openapi_examples=POINT_RULES_EXAMPLES)]
GatewayRules = Annotated[list[RuleItem], Body(openapi_examples=GATEWAY_RULES_EXAMPLES)]
RuleChange = Annotated[dict[str, Any], Body(openapi_examples=RULE_CHANGE_EXAMPLES)]
"""The request bodies, with the examples the API documentation shows."""


@router.post(
    "/api/v1/alerts/{alert_id}/ack",
    summary="Take charge of an open alert (who and when are recorded)",
    responses=error_responses(404, 409),
)
def post_ack(alert_id: UUID, user: CurrentUser, ctx: Ctx, body: AckBody = None) -> AlertOut:
    now = ctx.clock.now()
    comment = body.comment if body else None
    with ctx.db.transaction() as conn:
        _visible(conn, user, alert_id)
        alert = store.load_alert(conn, alert_id)
        try:
            transition = acknowledge(alert, by=user.username, at=now, comment=comment)  # type: ignore[arg-type]
        except LifecycleError as exc:
            raise ApiError(409, str(exc)) from None
        if not store.acknowledge_row(conn, transition.alert):
            raise ApiError(409, f"la alerta {alert_id} cambió mientras tanto; mírela de nuevo")
        audit.record(conn, user.username, "alert.acknowledged", f"alert:{alert_id}", now, comment=comment)
        return _visible(conn, user, alert_id)


# --- rules --------------------------------------------------------------------------------------


def _ensure(conn: Connection, scope: Scope, subject_id: int, ctx: AppContext) -> None:
    if scope is Scope.POINT:
        rule_store.ensure_point_rules(conn, [subject_id], ctx.clock.now())
    else:
        rule_store.ensure_gateway_rules(conn, subject_id, ctx.clock.now())


def _rules_with_defaults(conn: Connection, scope: Scope, subject_id: int, ctx: AppContext) -> list[dict[str, Any]]:
    """A subject's rules; a subject nobody looked at yet gets its default rules first."""
    _ensure(conn, scope, subject_id, ctx)
    return _items(rule_store.rules_of(conn, scope, subject_id))


def _invalid(exc: ValidationError | RuleProblem) -> RequestValidationError:
    if isinstance(exc, RuleProblem):
        return RequestValidationError([{"loc": ("body", *exc.loc), "msg": str(exc), "type": "value_error"}])
    return invalid_body(exc)


def _registered(ctx: AppContext, name: object, loc: list[str | int]) -> None:
    """A rule watches a registered regulator or any (None); 422 otherwise (the names are compliance's)."""
    if name is not None and name not in ctx.regulators.names:
        known = ", ".join(ctx.regulators.names) or "ninguno"
        raise _invalid(RuleProblem(loc, f"no hay un regulador {name!r} (registrados: {known})"))


def _replace(ctx: AppContext, user: User, scope: Scope, subject: dict[str, Any], items: list[Any]) -> list[Any]:
    wanted = [(item.id, parse_rule(item.model_dump(exclude={"id"}))) for item in items]
    for index, (_, rule) in enumerate(wanted):
        _registered(ctx, getattr(rule, "regulator", None), [index, "regulator"])
    label = subject.get("code") or subject["name"]
    with ctx.db.transaction() as conn:
        _ensure(conn, scope, subject["id"], ctx)
        try:
            rule_store.replace_rules(conn, scope, subject["id"], wanted, user.username, ctx.clock.now())
        except RuleProblem as exc:
            raise _invalid(exc) from None
        audit.record(
            conn,
            user.username,
            "alert_rules.replaced",
            f"{scope.value}:{label}",
            ctx.clock.now(),
            kinds=[rule.kind for _, rule in wanted],
        )
        return _items(rule_store.rules_of(conn, scope, subject["id"]))


@router.get(
    "/api/v1/points/{code}/alert-rules",
    summary="A point's alert rules (defaults on first look)",
    responses=error_responses(404),
)
def get_point_rules(code: str, user: CurrentUser, ctx: Ctx, paging: Paging) -> Page[RuleItem]:
    with ctx.db.transaction() as conn:
        return _page(_rules_with_defaults(conn, Scope.POINT, visible_point(conn, user, code)["id"], ctx), paging)


@router.put(
    "/api/v1/points/{code}/alert-rules",
    summary="Replace a point's alert rules (administrators); answers the first page of them",
    responses=error_responses(403, 404),
)
def put_point_rules(code: str, rules: PointRules, admin: AdminUser, ctx: Ctx) -> Page[RuleItem]:
    point = read(ctx, visible_point, admin, code)
    return _page(_replace(ctx, admin, Scope.POINT, point, rules), PageQuery())


@router.patch(
    "/api/v1/points/{code}/alert-rules/{rule_id}",
    summary="Change one rule of a point (administrators)",
    responses=error_responses(403, 404),
)
def patch_point_rule(code: str, rule_id: int, change: RuleChange, admin: AdminUser, ctx: Ctx) -> RuleItem:
    now = ctx.clock.now()
    _registered(ctx, change.get("regulator"), ["regulator"])
    with ctx.db.transaction() as conn:
        point = visible_point(conn, admin, code)
        _ensure(conn, Scope.POINT, point["id"], ctx)
        try:
            rule_store.patch_rule(conn, Scope.POINT, point["id"], rule_id, change, admin.username, now)
        except LookupError as exc:
            raise ApiError(404, str(exc)) from None
        except (ValidationError, RuleProblem) as exc:
            raise _invalid(exc) from None
        audit.record(
            conn, admin.username, "alert_rule.changed", f"point:{code}", now, rule_id=rule_id, fields=sorted(change)
        )
        [item] = [item for item in _items(rule_store.rules_of(conn, Scope.POINT, point["id"])) if item["id"] == rule_id]
        return item


@router.get(
    "/api/v1/gateways/{name}/alert-rules",
    summary="A gateway's alert rules (administrators)",
    responses=error_responses(403, 404),
)
def get_gateway_rules(name: str, admin: AdminUser, ctx: Ctx, paging: Paging) -> Page[RuleItem]:
    with ctx.db.transaction() as conn:
        return _page(_rules_with_defaults(conn, Scope.GATEWAY, gateway_by_name(conn, name).id, ctx), paging)


@router.put(
    "/api/v1/gateways/{name}/alert-rules",
    summary="Replace a gateway's alert rules (administrators); answers the first page of them",
    responses=error_responses(403, 404),
)
def put_gateway_rules(name: str, rules: GatewayRules, admin: AdminUser, ctx: Ctx) -> Page[RuleItem]:
    gateway = read(ctx, gateway_by_name, name).model_dump()
    wrong = [
        i for i, item in enumerate(rules) if parse_rule(item.model_dump(exclude={"id"})).scope is not Scope.GATEWAY
    ]
    if wrong:
        raise _invalid(
            RuleProblem(
                [wrong[0], "kind"], "no es una regla de gateway (gateway_silent, clock_offset, buffer_dropping)"
            )
        )
    return _page(_replace(ctx, admin, Scope.GATEWAY, gateway, rules), PageQuery())


# --- wiring -------------------------------------------------------------------------------------


def _gauges(ctx: AppContext) -> Callable[[], list[tuple[list[str], float]]]:
    def sample() -> list[tuple[list[str], float]]:
        with ctx.db.connect() as conn:
            return [([status, severity], float(n)) for (status, severity), n in store.counts(conn).items()]

    return sample


def setup(ctx: AppContext) -> None:
    """Evaluate alerts after every ingest (unless the alerts role does, see :mod:`.role`),
    publish the alert gauges: alerts by state, and the readings waiting in this process's
    queue (the marks waiting for the alerts role are :mod:`central.telemetry.api`'s gauge)."""
    queue = ctx.alert_queue = EvaluationQueue(ctx.db, preferences=lambda: ctx.notify_settings.preferences)

    async def on_ingest(point_ids: list[int], readings: Sequence[Any]) -> None:
        now = ctx.clock.now()
        if not queue.offer(readings, now):  # full: wait for room in a thread, not in the event loop
            await asyncio.to_thread(queue.submit, readings, now)

    if ctx.settings.alert_evaluation == "inline":  # else ingest marks the points for the alerts role
        ctx.on_ingest = on_ingest
    ctx.metrics.add_gauges("caudal_alerts", "Alerts by state and severity", ["state", "severity"], _gauges(ctx))
    ctx.metrics.add_gauges(
        "caudal_alert_queue_readings",
        "Readings waiting in this process for inline alert evaluation",
        [],
        lambda: [([], float(queue.queued_readings))],
    )


PASSES = {"alert_evaluation": "pasada de alertas pendientes", "alert_timer": "pasada del temporizador de alertas"}


def evaluation_worker(ctx: AppContext, name: str, evaluate: Callable[..., int], seconds: float) -> Worker:
    """A worker that runs ``evaluate(db, now, preferences)`` in a thread every ``seconds``; its task
    is called ``name`` (the alert timer here, the pending-points pass in the alerts role)."""

    def one_pass() -> Awaitable[int]:
        return asyncio.to_thread(evaluate, ctx.db, ctx.clock.now(), ctx.notify_settings.preferences)

    async def worker(stop: asyncio.Event) -> None:
        await every(ctx.clock, stop, seconds, one_pass, log, PASSES.get(name, name))

    worker.__name__ = name
    return worker


def alert_timer(ctx: AppContext) -> Worker:
    return evaluation_worker(ctx, "alert_timer", functools.partial(evaluate_timer, regulators=ctx.regulators), TIMER_S)


def workers(ctx: AppContext) -> list[Worker]:
    """The timer and the outbox, unless the alerts role runs them (:mod:`.role`)."""
    return [] if ctx.settings.alert_evaluation == "role" else [alert_timer(ctx), outbox_worker(ctx)]


def shutdown(ctx: AppContext) -> None:
    """Evaluate what is still queued (bounded) before the database closes, workers or not."""
    if ctx.alert_queue is not None:
        ctx.alert_queue.close(DRAIN_S)
