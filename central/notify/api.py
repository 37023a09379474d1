"""``/api/v1/users/me/channels`` and ``/api/v1/users/me/notifications``: where one hears about alerts.

Served by the core service (a channel is a user setting). A channel's secrets (a webhook's
shared secret, an Apprise URL) are encrypted at rest and never returned: answers name the
secret fields that are set, nothing more. A change that omits a secret keeps the stored one.

``POST .../channels/{id}/test`` delivers a test notification INLINE and answers with the
outcome; the attempt is recorded in the delivery log like any other, and a transient
failure stays in the outbox, where the telemetry worker retries it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body
from pydantic import AwareDatetime, BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from central.context import AppContext
from central.core.auth.models import User
from central.core.routes import read, write
from central.crypto import SecretKeyMissing, UndecryptableSecret
from central.db import IntegrityError
from central.deps import Ctx, CurrentUser
from central.errors import ApiError, error_responses, invalid_body
from central.pagination import Page, Paging

from . import service, store
from .channels import Notifier
from .delivery import Outcome, deliver, probe_notification
from .errors import ChannelInvalid
from .models import Channel, ChannelOut, EmailChannel, NotificationOut
from .outbox import LEASE_S, worker_name

router = APIRouter(prefix="/api/v1/users/me", tags=["notifications"], responses=error_responses(401))

CHANNEL_EXAMPLES = {
    "email": {
        "summary": "E-mail, critical alerts of two points",
        "value": {
            "kind": "email",
            "name": "guardia",
            "address": "guardia@example.cl",
            "subscription": {"points": ["OB-0101-12", "OB-0101-13"], "min_severity": "critical"},
        },
    },
    "webhook": {
        "summary": "A signed webhook",
        "value": {
            "kind": "webhook",
            "name": "scada",
            "url": "https://hooks.example.cl/caudal",
            "secret": "a-shared-secret-of-16+-chars",
        },
    },
}
CHANNEL_CHANGE_EXAMPLES = {"pause": {"summary": "Pause a channel", "value": {"enabled": False}}}
ChannelBody = Annotated[Channel, Body(openapi_examples=CHANNEL_EXAMPLES)]
ChannelChange = Annotated[dict[str, Any], Body(openapi_examples=CHANNEL_CHANGE_EXAMPLES)]
routers = [router]


async def _checked(ctx: AppContext, channel: Channel) -> Channel:
    """Refuse up front a channel that can never deliver (bad Apprise URL, forbidden destination)."""
    async with Notifier(ctx.notify_settings) as notifier:
        try:
            await notifier.check(channel)
        except ChannelInvalid as exc:
            raise ApiError(422, str(exc), details=[{"loc": ["body"], "msg": str(exc)}]) from None
    return channel


def _deliverable(ctx: AppContext, channel: Channel) -> None:
    """Refuse an e-mail channel while the server has no SMTP server to send it through."""
    if isinstance(channel, EmailChannel) and ctx.notify_settings.smtp is None:
        message = (
            "kind: este servidor no envía correo; configure CAUDAL_SMTP_HOST y CAUDAL_SMTP_FROM"
            " (y CAUDAL_SMTP_USER/CAUDAL_SMTP_PASSWORD si el servidor lo pide) y reinícielo"
        )
        raise ApiError(422, message, code="smtp_not_configured", details=[{"loc": ["body", "kind"], "msg": message}])


def _subscribable(ctx: AppContext, user: User, channel: Channel) -> None:
    """Refuse a subscription to a point the user may not see, as for a point that does not exist."""
    with ctx.db.connect() as conn:
        unseen = service.unseen_points(conn, user, channel.subscription.points or [])
    if unseen:
        message = f"subscription.points: no hay un punto con código {', '.join(repr(code) for code in unseen)}"
        raise ApiError(422, message, details=[{"loc": ["body", "subscription", "points"], "msg": message}])


def _own(ctx: AppContext, user_id: int, channel_id: int) -> dict[str, Any]:
    with ctx.db.connect() as conn:
        row = store.channel_row(conn, user_id, channel_id)
    if row is None:
        raise ApiError(404, f"no tiene un canal {channel_id}")
    return row


def _stored(action: Callable[[], ChannelOut]) -> ChannelOut:
    """Run a store call, mapping a name clash and a missing secret key to answers."""
    try:
        return action()
    except IntegrityError:
        raise ApiError(409, "usted ya tiene un canal con ese nombre") from None
    except SecretKeyMissing as exc:
        raise ApiError(503, f"no se pueden guardar los secretos del canal: {exc}") from None


@router.get("/channels", summary="Your notification channels (secrets never shown)")
def get_channels(user: CurrentUser, ctx: Ctx, paging: Paging) -> Page[ChannelOut]:
    return read(ctx, store.list_channels, user.id, paging)


@router.post(
    "/channels",
    status_code=201,
    summary="Add a channel: email, sms, webhook or apprise",
    responses=error_responses(409),
)
async def post_channel(channel: ChannelBody, user: CurrentUser, ctx: Ctx) -> ChannelOut:
    _deliverable(ctx, channel)
    await run_in_threadpool(_subscribable, ctx, user, channel)
    await _checked(ctx, channel)

    def create() -> ChannelOut:
        return write(ctx, service.create_channel, user.id, channel, ctx.secret_box, ctx.clock.now())

    return await run_in_threadpool(_stored, create)


@router.get("/channels/{channel_id}", summary="One of your channels", responses=error_responses(404))
def get_channel(channel_id: int, user: CurrentUser, ctx: Ctx) -> ChannelOut:
    return store.channel_out(_own(ctx, user.id, channel_id))


@router.patch(
    "/channels/{channel_id}",
    summary="Change a channel; omitted fields (and secrets) are kept",
    responses=error_responses(404, 409),
)
async def patch_channel(channel_id: int, change: ChannelChange, user: CurrentUser, ctx: Ctx) -> ChannelOut:
    row = await run_in_threadpool(_own, ctx, user.id, channel_id)
    try:
        channel = service.merged_channel(row, change, ctx.secret_box)
    except ValidationError as exc:
        raise invalid_body(exc) from None
    except ValueError as exc:
        raise ApiError(422, str(exc)) from None
    await run_in_threadpool(_subscribable, ctx, user, channel)
    await _checked(ctx, channel)

    def update() -> ChannelOut:
        return write(ctx, service.update_channel, row, channel, ctx.secret_box, ctx.clock.now())

    return await run_in_threadpool(_stored, update)


@router.delete(
    "/channels/{channel_id}",
    status_code=204,
    summary="Delete a channel (its delivery log stays)",
    responses=error_responses(404),
)
def delete_channel(channel_id: int, user: CurrentUser, ctx: Ctx) -> None:
    with ctx.db.transaction() as conn:
        if not store.delete_channel(conn, user.id, channel_id):
            raise ApiError(404, f"no tiene un canal {channel_id}")


class ProbeResult(BaseModel):
    """What happened to the test notification."""

    notification_id: UUID
    outcome: Outcome
    error: str | None
    delivered_at: AwareDatetime | None
    next_attempt_at: AwareDatetime | None


@router.post(
    "/channels/{channel_id}/test",
    summary="Send yourself a test notification now, through this channel",
    responses=error_responses(404, 409),
)
async def post_test(channel_id: int, user: CurrentUser, ctx: Ctx) -> ProbeResult:
    row = await run_in_threadpool(_own, ctx, user.id, channel_id)
    try:
        channel = service.channel_of(row, ctx.secret_box)
    except (SecretKeyMissing, UndecryptableSecret) as exc:
        raise ApiError(409, f"canal {channel_id}: {exc}; vuelva a darle su secreto") from None
    notification = probe_notification(user.username, channel.name, ctx.clock.now())
    worker = worker_name("test")

    def queue() -> None:
        with ctx.db.transaction() as conn:
            lease = (worker, ctx.clock.now() + timedelta(seconds=LEASE_S))
            store.enqueue(conn, notification, user_id=user.id, channel_id=channel_id, lease=lease)

    await run_in_threadpool(queue)
    async with Notifier(ctx.notify_settings) as notifier:
        result = await deliver(notification, channel, ctx.clock, notifier)
    await run_in_threadpool(service.record, ctx.db, result, worker)
    sent = result.notification
    return ProbeResult(
        notification_id=sent.id,
        outcome=result.outcome,
        error=sent.last_error,
        delivered_at=sent.delivered_at,
        next_attempt_at=sent.next_attempt_at,
    )


@router.get("/notifications", summary="Your notifications with their delivery log, newest first")
def get_notifications(user: CurrentUser, ctx: Ctx, paging: Paging) -> Page[NotificationOut]:
    return read(ctx, store.list_notifications, user.id, paging)
