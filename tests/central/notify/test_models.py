"""Channel models: parsing by type, secrets redacted unless asked for, subscription filters."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from central.notify import CHANNEL_ADAPTER, AppriseChannel, EmailChannel, SmsChannel, Subscription, WebhookChannel
from central.telemetry.alerts import Severity

WEBHOOK = {
    "kind": "webhook",
    "name": "scada",
    "url": "https://hooks.agua.example/caudal",
    "secret": "s3cr3t-compartido-0123456789",
}


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        ({"kind": "email", "name": "correo", "address": "op@agua.example"}, EmailChannel),
        ({"kind": "sms", "name": "sms", "apprise_url": "twilio://sid:token@+56911111111/+56922222222"}, SmsChannel),
        (WEBHOOK, WebhookChannel),
        ({"kind": "apprise", "name": "telegram", "apprise_url": "tgram://123:abc/456"}, AppriseChannel),
    ],
)
def test_channels_are_parsed_by_type(data: dict[str, object], kind: type) -> None:
    assert isinstance(CHANNEL_ADAPTER.validate_python(data), kind)


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"kind": "email", "name": "correo", "address": "op-at-agua"}, "address"),
        ({**WEBHOOK, "secret": "short"}, "secret"),
        ({**WEBHOOK, "url": "ftp://hooks.agua.example/"}, "url"),
        ({"kind": "pager", "name": "x"}, "pager"),
        ({"kind": "email", "name": "", "address": "op@agua.example"}, "name"),
        (
            {"kind": "email", "name": "c", "address": "op@agua.example", "subscription": {"min_severity": "loud"}},
            "min_severity",
        ),
    ],
)
def test_a_bad_channel_is_refused_naming_the_field(data: dict[str, object], where: str) -> None:
    with pytest.raises(ValidationError, match=where):
        CHANNEL_ADAPTER.validate_python(data)


def test_secrets_are_redacted_in_dumps_and_revealed_only_for_storage() -> None:
    channel = CHANNEL_ADAPTER.validate_python(WEBHOOK)
    shown = json.loads(channel.model_dump_json())
    stored = CHANNEL_ADAPTER.dump_json(channel, context={"reveal_secrets": True})
    assert shown["secret"] == "**********"
    assert CHANNEL_ADAPTER.validate_json(stored) == channel


@pytest.mark.parametrize(
    ("subscription", "severity", "subjects", "wanted"),
    [
        (Subscription(), Severity.WARNING, ["OB-1"], True),
        (Subscription(), Severity.INFO, ["OB-1"], False),
        (Subscription(min_severity=Severity.CRITICAL), Severity.WARNING, ["OB-1"], False),
        (Subscription(min_severity=Severity.INFO), Severity.INFO, ["OB-1"], True),
        (Subscription(points=["OB-1", "OB-2"]), Severity.CRITICAL, ["OB-3"], False),
        (Subscription(points=["OB-1", "OB-2"]), Severity.CRITICAL, ["OB-2"], True),
        (Subscription(points=["OB-2"]), Severity.CRITICAL, ["gw-norte-01", "OB-1", "OB-2"], True),  # a gateway alert
    ],
)
def test_subscription_filters_by_point_and_minimum_severity(
    subscription: Subscription, severity: Severity, subjects: list[str], wanted: bool
) -> None:
    assert subscription.wants(severity, subjects) is wanted
