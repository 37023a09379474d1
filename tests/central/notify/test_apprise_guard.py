"""SSRF through Apprise: no scheme Apprise ships reaches a loopback listener unless allowed.

Every scheme in Apprise's own registry is tried with the URL shapes its plugins take (host in
the URL's host part, with and without credentials and path tokens), against a real listener
socket on 127.0.0.1 that records any TCP connection or UDP datagram.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from ipaddress import ip_network
from pathlib import Path

import apprise
import pytest

from central.notify import (
    AppriseChannel,
    ChannelInvalid,
    DeliveryFailed,
    DestinationPolicy,
    DestinationRefused,
    Notification,
    Notifier,
    NotifySettings,
    SmsChannel,
    new_notification,
)
from central.notify.guard import UNCHECKED_SCHEMES, DestinationBlocked, watching
from protocols.clock import ManualClock

from .listener import Listener, listening, redirect_reply
from .support import LOOPBACK_ONLY

DEFAULT = DestinationPolicy(require_https=False, timeout_s=5)
FAST = DEFAULT.model_copy(update={"timeout_s": 1})
SHAPES = (
    "{scheme}://user:pass@{host}:{port}/t1/t2/t3?to=x",
    "{scheme}://token@{host}:{port}",
    "{scheme}://{host}:{port}/token",
)
# The schemes an attacker saw deliver to 127.0.0.1 (issue 13), each with a URL its plugin accepts.
REPORTED = {
    "hassio": "hassio://{host}:{port}/token",
    "bark": "bark://{host}:{port}/device",
    "synology": "synology://user:pass@{host}:{port}/token",
    "nctalk": "nctalk://user:pass@{host}:{port}/room",
    "lametric": "lametric://apikey@{host}:{port}",
    "pjet": "pjet://{host}:{port}/secret",
    "enigma2": "enigma2://{host}:{port}",
    "misskey": "misskey://token@{host}:{port}",
    "mastodon": "mastodon://token@{host}:{port}",
    "parsep": "parsep://app:master@{host}:{port}",
}


def apprise_schemes() -> list[str]:
    """Every scheme Apprise ships, enabled here or not, from its own registry."""
    found: set[str] = set()
    for entry in apprise.Apprise().details(show_disabled=True)["schemas"]:
        for key in ("protocols", "secure_protocols"):
            found.update(entry[key] or ())
    return sorted(found)


def notification(clock: ManualClock) -> Notification:
    return new_notification("ana", "x", "[Caudal] prueba", "cuerpo", clock.now())


async def attack(url: str, listener: Listener, clock: ManualClock) -> None:
    """Create the channel (the up-front check) and send through it, as the API and the worker do.

    The send is tried only where the plugin's first destination is the listener's address: the
    others go to a provider's fixed API on the Internet, which a test must not contact.
    """
    async with Notifier(NotifySettings(destinations=FAST)) as notifier:
        channel = AppriseChannel(name="x", apprise_url=url)
        with suppress(ChannelInvalid):
            await notifier.check(channel)
        with suppress(DeliveryFailed):
            if (listener.host, listener.port) in await notifier.apprise_destinations(url):
                await notifier.send(channel, notification(clock))


@pytest.mark.slow  # about a minute and a quarter for all of them
@pytest.mark.parametrize("scheme", apprise_schemes())
async def test_no_apprise_scheme_reaches_a_loopback_listener(scheme: str, clock: ManualClock) -> None:
    with listening() as listener:
        for shape in SHAPES:
            await attack(shape.format(scheme=scheme, host=listener.host, port=listener.port), listener, clock)
        assert listener.seen == []


@asynccontextmanager
async def reported_channel(
    scheme: str, host: str, destinations: DestinationPolicy
) -> AsyncIterator[tuple[Listener, AppriseChannel, Notifier]]:
    """A loopback listener, a channel with ``scheme``'s reported URL aimed at it through ``host``,
    and a notifier under the destination policy ``destinations``."""
    with listening() as listener:
        url = REPORTED[scheme].format(host=host, port=listener.port)
        async with Notifier(NotifySettings(destinations=destinations)) as notifier:
            yield listener, AppriseChannel(name="x", apprise_url=url), notifier


@pytest.mark.parametrize("scheme", sorted(REPORTED))
async def test_a_reported_scheme_is_refused_when_sent_and_reaches_nothing(scheme: str, clock: ManualClock) -> None:
    async with reported_channel(scheme, "127.0.0.1", DEFAULT) as (listener, channel, notifier):
        with pytest.raises(DestinationRefused) as caught:
            await notifier.send(channel, notification(clock))
    assert listener.seen == []
    assert caught.value.permanent
    assert "127.0.0.1 se resuelve a 127.0.0.1, que la política de destinos prohíbe" in caught.value.reason


@pytest.mark.parametrize("scheme", sorted(REPORTED))
async def test_a_reported_scheme_is_refused_up_front_without_contacting_it(scheme: str) -> None:
    async with reported_channel(scheme, "localhost", DEFAULT) as (listener, channel, notifier):
        with pytest.raises(ChannelInvalid, match="localhost se resuelve a 127.0.0.1"):
            await notifier.check(channel)
    assert listener.seen == []


@pytest.mark.parametrize("scheme", sorted(REPORTED))
async def test_a_reported_scheme_reaches_an_allowed_network(scheme: str, clock: ManualClock) -> None:
    """The control: the URLs above do deliver once the loopback is allowed, so the guard is what stops them."""
    async with reported_channel(scheme, "127.0.0.1", LOOPBACK_ONLY) as (listener, channel, notifier):
        await notifier.check(channel)
        with suppress(DeliveryFailed):  # the listener's reply is not what each service expects
            await notifier.send(channel, notification(clock))
        assert wait_for(listener, 1)[:1] == ["tcp"]


async def test_an_sms_through_the_installations_provider_is_guarded_too(clock: ManualClock) -> None:
    """Profile SMS go through CAUDAL_SMS_APPRISE_URL as an SMS channel: an internal provider needs its network allowed."""
    with listening() as listener:
        channel = SmsChannel(name="perfil: SMS", apprise_url=f"json://127.0.0.1:{listener.port}/sms/+56912345678")
        async with Notifier(NotifySettings(destinations=DEFAULT)) as notifier:
            with pytest.raises(DestinationRefused, match="127.0.0.1"):
                await notifier.send(channel, notification(clock))
        assert listener.seen == []


async def test_a_channel_accepted_earlier_is_checked_again_when_delivered(clock: ManualClock) -> None:
    with listening() as listener:
        channel = AppriseChannel(name="x", apprise_url=f"json://127.0.0.1:{listener.port}/hook")
        async with Notifier(NotifySettings(destinations=LOOPBACK_ONLY)) as notifier:
            await notifier.check(channel)
        async with Notifier(NotifySettings(destinations=DEFAULT)) as notifier:
            with pytest.raises(DestinationRefused, match="127.0.0.1"):
                await notifier.send(channel, notification(clock))
        assert listener.seen == []


async def test_a_redirect_to_a_forbidden_address_is_not_followed(clock: ManualClock) -> None:
    with listening("127.0.0.2") as inside, listening() as outside:
        outside.reply = redirect_reply(f"http://127.0.0.2:{inside.port}/metadata")
        only_outside = DestinationPolicy(
            allowed_networks=(ip_network("127.0.0.1/32"),), require_https=False, timeout_s=5
        )
        channel = AppriseChannel(name="x", apprise_url=f"json://127.0.0.1:{outside.port}/hook")
        async with Notifier(NotifySettings(destinations=only_outside)) as notifier:
            with pytest.raises(DestinationRefused, match="127.0.0.2 se resuelve a 127.0.0.2"):
                await notifier.send(channel, notification(clock))
        assert (outside.seen, inside.seen) == (["tcp"], [])


def test_every_unchecked_scheme_is_one_apprise_ships() -> None:
    assert set(apprise_schemes()) >= UNCHECKED_SCHEMES


@pytest.mark.parametrize(("allowed", "refused"), [(frozenset(), True), (frozenset({"syslog"}), False)])
async def test_a_scheme_the_guard_cannot_follow_needs_the_administrator(allowed: frozenset[str], refused: bool) -> None:
    policy = DEFAULT.model_copy(update={"allowed_apprise_schemes": allowed})
    async with Notifier(NotifySettings(destinations=policy)) as notifier:
        try:
            await notifier.check(AppriseChannel(name="log", apprise_url="syslog://"))
        except ChannelInvalid as exc:
            assert "CAUDAL_NOTIFY_ALLOWED_APPRISE_SCHEMES" in str(exc)
            assert refused
        else:
            assert not refused


def test_a_local_socket_is_refused_while_watching(tmp_path: Path) -> None:
    path = str(tmp_path / "docker.sock")
    with socket.socket(socket.AF_UNIX) as server, socket.socket(socket.AF_UNIX) as client:
        server.bind(path)
        server.listen()
        with watching(LOOPBACK_ONLY) as watch, pytest.raises(DestinationBlocked):
            client.connect(path)
    assert watch.refused == [f"{path!r}: only network destinations are allowed, not local sockets"]


def test_connections_outside_a_delivery_are_not_watched() -> None:
    with listening() as listener:
        with watching(DEFAULT):
            pass
        with socket.create_connection((listener.host, listener.port), timeout=2):
            pass
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.sendto(b"x", (listener.host, listener.port))
        udp.close()
        listener_saw = wait_for(listener, 2)
    assert sorted(listener_saw) == ["tcp", "udp"]


def wait_for(listener: Listener, count: int) -> list[str]:
    """The listener's threads record asynchronously: wait (bounded) until ``count`` events are in."""
    deadline = time.monotonic() + 2
    while len(listener.seen) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return list(listener.seen)


async def test_another_task_is_not_watched_while_a_delivery_is(clock: ManualClock) -> None:
    """The server's own connections (its database on 127.0.0.1, say) go on while a channel is tested."""
    with listening() as listener:
        inside, outside = asyncio.Event(), asyncio.Event()

        async def delivery() -> None:
            with watching(DEFAULT):
                inside.set()
                await outside.wait()

        async def server_work() -> None:
            await inside.wait()
            _, writer = await asyncio.open_connection(listener.host, listener.port)
            writer.close()
            await writer.wait_closed()
            outside.set()

        await asyncio.wait_for(asyncio.gather(delivery(), server_work()), timeout=5)
        assert wait_for(listener, 1) == ["tcp"]
