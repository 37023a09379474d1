"""Webhook payloads and their signature (pure; the POST itself is in :mod:`.channels`).

The receiver recomputes HMAC-SHA256 over the exact bytes it received with the shared
secret and compares it, in constant time, with ``X-Caudal-Signature: sha256=<hex>``.
``X-Caudal-Delivery`` carries the notification id, so a receiver can drop a repeat
(delivery is at least once: a reply lost on the way back means one retry).
"""

from __future__ import annotations

import hashlib
import hmac

from pydantic import BaseModel, ConfigDict

from .models import Notification

SIGNATURE_HEADER = "X-Caudal-Signature"
DELIVERY_HEADER = "X-Caudal-Delivery"
EVENT_HEADER = "X-Caudal-Event"
SIGNATURE_PREFIX = "sha256="


class WebhookPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    event: str = "notification"
    user: str
    subject: str
    body: str
    severity: str
    alert_id: str | None
    created_at: str


def payload(notification: Notification) -> bytes:
    """The exact bytes sent (and signed)."""
    return (
        WebhookPayload(
            id=str(notification.id),
            user=notification.user,
            subject=notification.subject,
            body=notification.body,
            severity=notification.severity.value,
            alert_id=str(notification.alert_id) if notification.alert_id else None,
            created_at=notification.created_at.isoformat().replace("+00:00", "Z"),
        )
        .model_dump_json()
        .encode()
    )


def signature(body: bytes, secret: str) -> str:
    """The ``X-Caudal-Signature`` header value for ``body``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_PREFIX}{digest}"


def verify(body: bytes, secret: str, header: str | None) -> bool:
    """What a receiver does (and what our tests' receiver does)."""
    return header is not None and hmac.compare_digest(signature(body, secret), header)


def headers(notification: Notification, body: bytes, secret: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature(body, secret),
        DELIVERY_HEADER: str(notification.id),
        EVENT_HEADER: "notification",
    }
