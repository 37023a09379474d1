"""``/api/v1/users/me/channels`` and ``/notifications``: secrets stay secret, tests really deliver."""

from __future__ import annotations

import asyncio
import json

import pytest

from central.crypto import SecretBox
from central.notify import CHANNEL_ADAPTER, NotifySettings, service, verify
from tests.central.alerts.db_support import EMAIL, World
from tests.central.notify.support import Receiver, SmtpServer

CHANNELS = "/api/v1/users/me/channels"
WEBHOOK_SECRET = "s3cr3t-webhook-key-0123456789"
APPRISE_URL = "tgram://123456789:AAHsecretbottoken/987654321"


def webhook(url: str) -> dict:
    return {"kind": "webhook", "name": "sistema", "url": url, "secret": WEBHOOK_SECRET}


def test_a_created_channel_is_answered_without_its_secret_and_stored_encrypted(world: World) -> None:
    created = world.add_channel("ana", webhook("http://127.0.0.1:9/hook"))
    listed = world.call("GET", CHANNELS, user="ana").json()
    [row] = world.rows("SELECT config, secret FROM notify_channels")
    assert listed == {"items": [created], "total": 1, "limit": 50, "offset": 0, "next_cursor": None}
    assert {k: created[k] for k in ("kind", "name", "enabled", "url", "secrets_set")} == {
        "kind": "webhook",
        "name": "sistema",
        "enabled": True,
        "url": "http://127.0.0.1:9/hook",
        "secrets_set": ["secret"],
    }
    assert WEBHOOK_SECRET not in json.dumps(created) + json.dumps(listed) + row["config"] + row["secret"]


def test_an_apprise_url_is_never_answered(world: World) -> None:
    created = world.add_channel("ana", {"kind": "apprise", "name": "telegram", "apprise_url": APPRISE_URL})
    changed = world.call("PATCH", f"{CHANNELS}/{created['id']}", user="ana", json={"enabled": False})
    one = world.call("GET", f"{CHANNELS}/{created['id']}", user="ana")
    answers = json.dumps([created, changed.json(), one.json()])
    assert "AAHsecretbottoken" not in answers and "123456789" not in answers
    assert (changed.json()["enabled"], changed.json()["secrets_set"]) == (False, ["apprise_url"])


async def test_a_change_that_omits_the_secret_keeps_it(world: World, receiver: Receiver) -> None:
    created = world.add_channel("ana", webhook(f"{receiver.base_url}/old"))
    world.call("PATCH", f"{CHANNELS}/{created['id']}", user="ana", json={"url": f"{receiver.base_url}/new"})
    # the receiver runs on this test's event loop: call the app from a thread meanwhile
    response = await asyncio.to_thread(world.call, "POST", f"{CHANNELS}/{created['id']}/test", user="ana")
    result = response.json()
    [hit] = receiver.hits
    assert (result["outcome"], hit.path) == ("delivered", "/new")
    assert verify(hit.body, WEBHOOK_SECRET, hit.headers["X-Caudal-Signature"])
    assert hit.headers["X-Caudal-Delivery"] == result["notification_id"]


@pytest.mark.parametrize(
    ("channel", "problem"),
    [
        ({"kind": "email", "name": "correo", "address": "no-es-correo"}, ["body", "email", "address"]),
        (
            {"kind": "webhook", "name": "w", "url": "http://127.0.0.1/x", "secret": "short"},
            ["body", "webhook", "secret"],
        ),
        ({"kind": "pager", "name": "p"}, ["body"]),
        ({**EMAIL, "subscription": {"min_severity": "loud"}}, ["body", "email", "subscription", "min_severity"]),
    ],
)
def test_a_bad_channel_is_a_422_naming_the_field(world: World, channel: dict, problem: list) -> None:
    response = world.call("POST", CHANNELS, user="ana", json=channel)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["loc"][: len(problem)] == problem
    assert world.rows("SELECT id FROM notify_channels") == []


def test_an_email_channel_without_a_mail_server_is_refused_saying_what_to_set(world: World) -> None:
    world.ctx.notify_settings = NotifySettings()  # no CAUDAL_SMTP_HOST
    response = world.call("POST", CHANNELS, user="ana", json=EMAIL)
    assert (response.status_code, response.json()["error"]["code"], response.json()["error"]["message"]) == (
        422,
        "smtp_not_configured",
        "kind: este servidor no envía correo; configure CAUDAL_SMTP_HOST y CAUDAL_SMTP_FROM"
        " (y CAUDAL_SMTP_USER/CAUDAL_SMTP_PASSWORD si el servidor lo pide) y reinícielo",
    )
    assert world.rows("SELECT id FROM notify_channels") == []


def test_a_channel_stored_with_its_kind_as_type_reads_back_as_kind(world: World) -> None:
    created = world.add_channel("ana", webhook("http://127.0.0.1:9/hook"))
    with world.db.transaction() as conn:  # a row written before the discriminator was named kind
        conn.execute(
            "UPDATE notify_channels SET config = :c WHERE id = :id",
            {
                "c": json.dumps(
                    {**json.loads(world.rows("SELECT config FROM notify_channels")[0]["config"]), "type": "webhook"}
                ),
                "id": created["id"],
            },
        )
    assert world.call("GET", f"{CHANNELS}/{created['id']}", user="ana").json() == created


def test_a_webhook_to_a_forbidden_address_is_refused_up_front(world: World) -> None:
    response = world.call("POST", CHANNELS, user="ana", json=webhook("http://169.254.169.254/latest/meta-data"))
    assert response.status_code == 422
    assert "169.254.169.254" in response.json()["error"]["message"]


def test_a_second_channel_with_the_same_name_is_a_conflict(world: World) -> None:
    world.add_channel("ana", EMAIL)
    assert world.call("POST", CHANNELS, user="ana", json=EMAIL).status_code == 409
    assert world.call("POST", CHANNELS, user="bob", json=EMAIL).status_code == 201


def test_nobody_reaches_another_users_channel(world: World) -> None:
    created = world.add_channel("ana", EMAIL)
    path = f"{CHANNELS}/{created['id']}"
    statuses = [world.call(method, path, user="bob", json={}).status_code for method in ("GET", "PATCH", "DELETE")]
    assert statuses + [world.call("POST", f"{path}/test", user="bob").status_code] == [404, 404, 404, 404]


def test_a_test_email_is_delivered_inline_and_logged(world: World, smtp: SmtpServer) -> None:
    created = world.add_channel("ana", EMAIL)
    result = world.call("POST", f"{CHANNELS}/{created['id']}/test", user="ana").json()
    [mail] = smtp.received
    [mine] = world.call("GET", "/api/v1/users/me/notifications", user="ana").json()["items"]
    assert (result["outcome"], result["delivered_at"], mail.message["Subject"]) == (
        "delivered",
        "2026-11-28T13:00:00Z",
        "[Caudal] Notificación de prueba",
    )
    assert (mine["id"], mine["delivered_at"], mine["log"]) == (
        result["notification_id"],
        "2026-11-28T13:00:00Z",
        [{"attempt": 1, "at": "2026-11-28T13:00:00Z", "outcome": "delivered", "error": None}],
    )
    assert world.call("GET", "/api/v1/users/me/notifications", user="bob").json()["total"] == 0


def test_a_test_email_with_the_mail_server_down_says_so_and_is_retried_later(world: World, smtp_port: int) -> None:
    created = world.add_channel("ana", EMAIL)
    result = world.call("POST", f"{CHANNELS}/{created['id']}/test", user="ana").json()
    assert (result["outcome"], result["next_attempt_at"]) == ("retry", "2026-11-28T13:00:30Z")
    assert result["error"]
    world.clock.advance(30)
    assert world.deliver() == 1


def test_a_deleted_channel_gives_up_its_pending_notifications(world: World) -> None:
    created = world.add_channel("ana", EMAIL)
    world.call("POST", f"{CHANNELS}/{created['id']}/test", user="ana")
    assert world.call("DELETE", f"{CHANNELS}/{created['id']}", user="ana").status_code == 204
    world.clock.advance(60)
    assert world.deliver() == 0
    [mine] = world.call("GET", "/api/v1/users/me/notifications", user="ana").json()["items"]
    assert (mine["gave_up_at"], mine["last_error"]) == ("2026-11-28T13:01:00Z", "the channel was deleted")


def test_a_channel_whose_secret_no_longer_decrypts_can_be_given_a_new_one(world: World) -> None:
    created = world.add_channel("ana", webhook("http://127.0.0.1:9/hook"))
    with world.db.transaction() as conn:  # as if CAUDAL_SECRET_KEY had changed since
        conn.execute("UPDATE notify_channels SET secret = :s", {"s": SecretBox("old-key").encrypt("{}")})
    path = f"{CHANNELS}/{created['id']}"
    probe = world.call("POST", f"{path}/test", user="ana")
    without = world.call("PATCH", path, user="ana", json={"enabled": True})
    again = world.call("PATCH", path, user="ana", json={"secret": "a-brand-new-secret-value"})
    assert (probe.status_code, without.status_code, again.status_code) == (409, 422, 200)
    assert without.json()["error"]["details"][0]["loc"] == ["body", "webhook", "secret"]


@pytest.mark.parametrize(
    "url",
    [
        "hassio://169.254.169.254:8123/token",
        "mastodon://token@169.254.169.254",
        "bark://10.1.2.3:8080/device",
        "misskey://token@[fd00::1]",
    ],
)
def test_an_apprise_channel_to_an_internal_address_is_refused_up_front(world: World, url: str) -> None:
    response = world.call("POST", CHANNELS, user="ana", json={"kind": "apprise", "name": "x", "apprise_url": url})
    assert response.status_code == 422
    assert "que la política de destinos prohíbe" in response.json()["error"]["message"]
    assert world.rows("SELECT id FROM notify_channels") == []


def test_a_stored_apprise_channel_to_an_internal_address_is_given_up_when_tested(world: World) -> None:
    """A channel stored before the guard existed (or whose name now resolves inside) never connects."""
    channel = CHANNEL_ADAPTER.validate_python(
        {"kind": "apprise", "name": "ha", "apprise_url": "hassio://169.254.169.254:8123/token"}
    )
    with world.db.transaction() as conn:
        [ana] = conn.fetchall("SELECT id FROM users WHERE username = 'ana'")
        created = service.create_channel(conn, ana["id"], channel, world.ctx.secret_box, world.clock.now())
    result = world.call("POST", f"{CHANNELS}/{created.id}/test", user="ana").json()
    assert (result["outcome"], result["delivered_at"]) == ("gave_up", None)
    assert "169.254.169.254 se resuelve a 169.254.169.254, que la política de destinos prohíbe" in result["error"]
