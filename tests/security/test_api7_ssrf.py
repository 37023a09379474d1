"""OWASP API7 (server-side request forgery) through the HTTP API, under the default destination policy.

An operator creates Apprise channels aimed at a listener on 127.0.0.1 with each scheme that once
reached it (issue 13), and asks for a test notification through one stored before the guard
existed: nothing reaches the listener. Every scheme Apprise ships is covered at the adapter in
tests/central/notify/test_apprise_guard.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from central.notify import CHANNEL_ADAPTER, DestinationPolicy, NotifySettings, service
from tests.central.notify.listener import Listener, listening
from tests.central.notify.test_apprise_guard import REPORTED
from tests.security.targets import Site

CHANNELS = "/api/v1/users/me/channels"


@pytest.fixture
def default_policy(site: Site) -> Site:
    """The installation's defaults: public destinations only (the shared app allows the loopback)."""
    site.world.ctx.notify_settings = NotifySettings(destinations=DestinationPolicy(require_https=False))
    return site


@pytest.fixture
def listener() -> Iterator[Listener]:
    with listening() as opened:
        yield opened


@pytest.mark.parametrize("scheme", sorted(REPORTED))
def test_an_apprise_channel_to_the_loopback_is_refused(default_policy: Site, listener: Listener, scheme: str) -> None:
    url = REPORTED[scheme].format(host="127.0.0.1", port=listener.port)
    response = default_policy.request(
        "POST",
        CHANNELS,
        {},
        token=default_policy.token("ana"),
        body={"kind": "apprise", "name": "x", "apprise_url": url},
    )
    assert (response.status_code, listener.seen) == (422, [])
    assert (
        "127.0.0.1 se resuelve a 127.0.0.1, que la política de destinos prohíbe" in response.json()["error"]["message"]
    )


@pytest.mark.parametrize("scheme", sorted(REPORTED))
def test_a_stored_channel_to_the_loopback_is_never_contacted(
    default_policy: Site, listener: Listener, scheme: str
) -> None:
    world = default_policy.world
    channel = CHANNEL_ADAPTER.validate_python(
        {"kind": "apprise", "name": "x", "apprise_url": REPORTED[scheme].format(host="127.0.0.1", port=listener.port)}
    )
    with world.db.transaction() as conn:
        user_id = conn.fetchval("SELECT id FROM users WHERE username = 'ana'")
        created = service.create_channel(conn, user_id, channel, world.ctx.secret_box, world.clock.now())
    result = default_policy.request(
        "POST", CHANNELS + "/{id}/test", {"id": str(created.id)}, token=default_policy.token("ana")
    ).json()
    assert (result["outcome"], listener.seen) == ("gave_up", [])
