"""Per-user notification channels, their subscription filters, and notifications.

Secrets (webhook shared secret, Apprise URLs, which carry provider tokens) are
``SecretStr``: redacted in every dump unless the caller passes
``context={"reveal_secrets": True}`` (what the db layer does when it stores a channel).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, NamedTuple
from uuid import UUID, uuid4

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    SerializationInfo,
    TypeAdapter,
    field_serializer,
)

from central.telemetry.alerts.rules import Severity

from .settings import EMAIL_PATTERN

Name = Annotated[str, Field(min_length=1, max_length=64)]

SECRET_FIELDS: dict[str, tuple[str, ...]] = {
    "email": (),
    "sms": ("apprise_url",),
    "webhook": ("secret",),
    "apprise": ("apprise_url",),
}
PREFERENCE_CHANNELS = {"email": "perfil: correo", "sms": "perfil: SMS"}  # channel_name of profile notifications


class Subscription(BaseModel):
    """Which alerts a channel hears about: some points (or all) from a minimum severity up."""

    model_config = ConfigDict(extra="forbid")

    points: list[str] | None = None  # None: every point (and gateway)
    min_severity: Severity = Severity.WARNING

    def wants(self, severity: Severity, subjects: list[str]) -> bool:
        """``subjects``: the alert's point, or a gateway's name and the codes of its points."""
        if severity.rank < self.min_severity.rank:
            return False
        return self.points is None or any(subject in self.points for subject in subjects)


class _Channel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    enabled: bool = True
    subscription: Subscription = Subscription()

    @field_serializer("*", when_used="always", check_fields=False)
    def _secrets(self, value: object, info: SerializationInfo) -> object:
        if isinstance(value, SecretStr):
            reveal = isinstance(info.context, dict) and info.context.get("reveal_secrets") is True
            return value.get_secret_value() if reveal else str(value)
        return value


class EmailChannel(_Channel):
    kind: Literal["email"] = "email"
    address: str = Field(pattern=EMAIL_PATTERN, max_length=254)


class SmsChannel(_Channel):
    """An SMS provider through Apprise (e.g. ``twilio://...``, ``sns://...``)."""

    kind: Literal["sms"] = "sms"
    apprise_url: SecretStr


class WebhookChannel(_Channel):
    """A JSON POST signed with HMAC-SHA256 of the body (header ``X-Caudal-Signature``)."""

    kind: Literal["webhook"] = "webhook"
    url: str = Field(pattern=r"^https?://", max_length=2048)
    secret: SecretStr = Field(min_length=16)


class AppriseChannel(_Channel):
    """Anything Apprise offers: Telegram, Slack, Teams, ntfy... as an Apprise URL."""

    kind: Literal["apprise"] = "apprise"
    apprise_url: SecretStr


Channel = Annotated[EmailChannel | SmsChannel | WebhookChannel | AppriseChannel, Field(discriminator="kind")]
CHANNEL_ADAPTER: TypeAdapter[Channel] = TypeAdapter(Channel)


class Notification(BaseModel):
    """One message to one channel of one user; the outbox row the delivery worker retries."""

    model_config = ConfigDict(extra="forbid")

    id: UUID = Field(default_factory=uuid4)
    user: str
    channel: str  # the channel's name, unique per user
    subject: str = Field(max_length=200)
    body: str
    severity: Severity = Severity.INFO
    alert_id: UUID | None = None
    created_at: AwareDatetime
    attempts: int = Field(default=0, ge=0)
    next_attempt_at: AwareDatetime | None
    delivered_at: AwareDatetime | None = None
    gave_up_at: AwareDatetime | None = None  # a permanent failure: kept, visible, never retried
    last_error: str | None = None

    @property
    def pending(self) -> bool:
        return self.delivered_at is None and self.gave_up_at is None

    def due(self, now: datetime) -> bool:
        return self.pending and self.next_attempt_at is not None and self.next_attempt_at <= now


def new_notification(
    user: str,
    channel: str,
    subject: str,
    body: str,
    now: datetime,
    *,
    severity: Severity = Severity.INFO,
    alert_id: UUID | None = None,
) -> Notification:
    """A notification due at once (the worker sends it on its next pass)."""
    return Notification(
        user=user,
        channel=channel,
        subject=subject,
        body=body,
        severity=severity,
        alert_id=alert_id,
        created_at=now,
        next_attempt_at=now,
    )


class AlertSubject(NamedTuple):
    """What an alert notification is about: a point or a gateway (one id set), and its name."""

    point_id: int | None
    gateway_id: int | None
    name: str


class ChannelOut(BaseModel):
    """A channel as its owner sees it: every setting except the secrets, which are only named."""

    id: int
    kind: str
    name: str
    enabled: bool
    subscription: Subscription
    address: str | None = Field(default=None, description="E-mail channels")
    url: str | None = Field(default=None, description="Webhook channels")
    secrets_set: list[str] = Field(description="Secret fields stored (encrypted); never shown")
    created_at: AwareDatetime
    updated_at: AwareDatetime


class AttemptOut(BaseModel):
    attempt: int
    at: AwareDatetime
    outcome: str
    error: str | None


class NotificationOut(BaseModel):
    """One notification with its delivery log."""

    id: UUID
    channel: str
    subject: str
    body: str
    severity: Severity
    alert_id: UUID | None
    created_at: AwareDatetime
    attempts: int
    next_attempt_at: AwareDatetime | None
    delivered_at: AwareDatetime | None
    gave_up_at: AwareDatetime | None
    last_error: str | None
    log: list[AttemptOut]
