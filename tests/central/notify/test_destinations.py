"""The destination policy (SSRF guard): what webhooks and Apprise channels may reach."""

from __future__ import annotations

from ipaddress import ip_address, ip_network

import pytest

from central.notify import (
    AppriseChannel,
    ChannelInvalid,
    DestinationPolicy,
    DestinationRefused,
    Notifier,
    NotifySettings,
    SmsChannel,
    WebhookChannel,
    address_allowed,
    check_addresses,
    check_url,
    new_notification,
)
from protocols.clock import ManualClock

from .support import LOOPBACK_ONLY, Receiver

DEFAULT = DestinationPolicy()
SECRET = "s3cr3t-compartido-0123456789"


@pytest.mark.parametrize(
    ("address", "default", "loopback_listed", "private_allowed"),
    [
        ("10.0.0.1", False, False, True),
        ("192.168.1.1", False, False, True),
        ("172.16.5.4", False, False, True),
        ("169.254.169.254", False, False, True),  # cloud metadata service
        ("127.0.0.1", False, True, True),
        ("::1", False, False, True),  # the allow-list names 127.0.0.0/8 only
        ("0.0.0.0", False, False, True),
        ("224.0.0.251", False, False, True),  # multicast
        ("100.64.0.1", False, False, True),  # carrier-grade NAT
        ("fe80::1", False, False, True),
        ("fc00::1", False, False, True),
        ("::ffff:10.0.0.1", False, False, True),  # IPv4-mapped
        ("64:ff9b::a9fe:a9fe", False, False, True),  # NAT64 of 169.254.169.254
        ("2002:a00:1::", False, False, True),  # 6to4 of 10.0.0.1
        ("8.8.8.8", True, True, True),
        ("2001:4860:4860::8888", True, True, True),
    ],
)
def test_which_addresses_each_policy_allows(
    address: str, default: bool, loopback_listed: bool, private_allowed: bool
) -> None:
    ip = ip_address(address)
    assert (
        address_allowed(ip, DEFAULT),
        address_allowed(ip, LOOPBACK_ONLY),
        address_allowed(ip, DestinationPolicy(allow_private_destinations=True)),
    ) == (default, loopback_listed, private_allowed)


def test_one_forbidden_address_among_many_refuses_the_host() -> None:
    with pytest.raises(DestinationRefused, match=r"hooks.example se resuelve a 10.0.0.1, "):
        check_addresses("hooks.example", ["8.8.8.8", "10.0.0.1", "2001:4860:4860::8888"], DEFAULT)


def test_a_host_with_no_address_is_refused() -> None:
    with pytest.raises(DestinationRefused, match="no se resolvió"):
        check_addresses("hooks.example", [], DEFAULT)


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://hooks.example/x", "deben usar https"),
        ("ftp://hooks.example/x", "el esquema 'ftp'"),
        ("https://10.0.0.1/x", "10.0.0.1 se resuelve a 10.0.0.1"),
        ("https://[::1]:8443/x", "::1 se resuelve a ::1"),
        ("https://169.254.169.254/latest/meta-data/", "prohíbe"),
    ],
)
def test_bad_webhook_urls_are_refused_before_any_connection(url: str, error: str) -> None:
    with pytest.raises(DestinationRefused, match=error.replace("[", r"\[")):
        check_url(url, DEFAULT)


def test_a_public_ip_literal_passes_the_url_check() -> None:
    assert check_url("https://8.8.8.8/hook", DEFAULT) == ("8.8.8.8", 443)


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.1/h",
        "https://192.168.1.1/h",
        "https://169.254.169.254/h",
        "https://[::1]/h",
        "https://127.0.0.1/h",
        "https://localhost/h",
    ],
)
async def test_sending_to_a_forbidden_destination_is_a_permanent_failure(url: str, clock: ManualClock) -> None:
    channel = WebhookChannel(name="x", url=url, secret=SECRET)
    async with Notifier(NotifySettings(destinations=DEFAULT)) as notifier:
        with pytest.raises(DestinationRefused) as caught:
            await notifier.send(channel, new_notification("ana", "x", "s", "b", clock.now()))
    assert caught.value.permanent


async def test_a_hostname_is_resolved_and_every_address_checked_before_connecting(
    receiver: Receiver, clock: ManualClock
) -> None:
    url = receiver.base_url.replace("127.0.0.1", "localhost") + "/h"
    channel = WebhookChannel(name="x", url=url, secret=SECRET)
    strict = NotifySettings(destinations=DEFAULT.model_copy(update={"require_https": False}))
    async with Notifier(strict) as notifier:
        with pytest.raises(DestinationRefused, match="localhost se resuelve a 127.0.0.1"):
            await notifier.send(channel, new_notification("ana", "x", "s", "b", clock.now()))
    assert receiver.hits == []
    async with Notifier(NotifySettings(destinations=LOOPBACK_ONLY)) as notifier:
        await notifier.send(channel, new_notification("ana", "x", "s", "b", clock.now()))
    assert len(receiver.hits) == 1


async def test_an_apprise_url_to_a_private_host_is_refused_without_connecting(clock: ManualClock) -> None:
    channel = AppriseChannel(name="x", apprise_url="json://10.0.0.1:8080/hook")
    async with Notifier(NotifySettings(destinations=LOOPBACK_ONLY)) as notifier:
        with pytest.raises(DestinationRefused, match="10.0.0.1"):
            await notifier.send(channel, new_notification("ana", "x", "s", "b", clock.now()))


@pytest.mark.parametrize(
    ("channel", "error"),
    [
        (AppriseChannel(name="chat", apprise_url="nosuchscheme://abc"), "Apprise no acepta esta URL"),
        (SmsChannel(name="sms", apprise_url="json://192.168.1.1/sms"), "192.168.1.1"),
        (WebhookChannel(name="hook", url="https://169.254.169.254/", secret=SECRET), "169.254.169.254"),
        (WebhookChannel(name="hook", url="http://127.0.0.1/", secret=SECRET), "deben usar https"),
    ],
)
async def test_a_channel_that_can_never_deliver_is_refused_up_front(channel: object, error: str) -> None:
    async with Notifier(NotifySettings(destinations=DEFAULT)) as notifier:
        with pytest.raises(ChannelInvalid, match=error):
            await notifier.check(channel)  # type: ignore[arg-type]


async def test_an_allowed_channel_passes_the_check() -> None:
    policy = DestinationPolicy(allowed_networks=(ip_network("127.0.0.0/8"),))
    async with Notifier(NotifySettings(destinations=policy)) as notifier:
        await notifier.check(WebhookChannel(name="hook", url="https://127.0.0.1:9/x", secret=SECRET))
        await notifier.check(AppriseChannel(name="tg", apprise_url="tgram://123456789:abcdefg_hijklmnop/987654"))
