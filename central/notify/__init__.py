"""Notifications: per-user channels, delivery with retries, a delivery log.

:class:`Notifier` (in :mod:`.channels`) is the only module that talks to the outside
(Apprise, aiohttp), with :mod:`.guard` checking each connection Apprise makes; everything
else is pure or takes a Clock.
"""

from __future__ import annotations

from .channels import Notifier, mailto_url
from .delivery import (
    BACKOFF_S,
    DeliveryAttempt,
    DeliveryResult,
    Outbox,
    Outcome,
    Sender,
    deliver,
    deliver_due,
    next_attempt_at,
    probe_notification,
)
from .destinations import address_allowed, check_addresses, check_url, is_public
from .errors import ChannelInvalid, DeliveryFailed, DestinationRefused
from .models import (
    CHANNEL_ADAPTER,
    AppriseChannel,
    Channel,
    EmailChannel,
    Notification,
    SmsChannel,
    Subscription,
    WebhookChannel,
    new_notification,
)
from .settings import DestinationPolicy, NotifySettings, SmtpSecurity, SmtpSettings
from .webhook import SIGNATURE_HEADER, payload, signature, verify

__all__ = [
    "BACKOFF_S",
    "CHANNEL_ADAPTER",
    "SIGNATURE_HEADER",
    "AppriseChannel",
    "Channel",
    "ChannelInvalid",
    "DeliveryAttempt",
    "DeliveryFailed",
    "DeliveryResult",
    "DestinationPolicy",
    "DestinationRefused",
    "EmailChannel",
    "Notification",
    "Notifier",
    "NotifySettings",
    "Outbox",
    "Outcome",
    "Sender",
    "SmsChannel",
    "SmtpSecurity",
    "SmtpSettings",
    "Subscription",
    "WebhookChannel",
    "address_allowed",
    "check_addresses",
    "check_url",
    "deliver",
    "deliver_due",
    "is_public",
    "mailto_url",
    "new_notification",
    "next_attempt_at",
    "payload",
    "probe_notification",
    "signature",
    "verify",
]
