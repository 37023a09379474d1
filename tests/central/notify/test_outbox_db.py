"""The database outbox: leases, retries through an SMTP outage, several workers at once."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

from central.crypto import SecretBox
from central.db import open_database
from central.notify import new_notification
from central.notify import store as notify_store
from central.notify.outbox import DbOutbox, outbox_worker
from tests.central.alerts.db_support import EMAIL, World
from tests.central.notify.support import SmtpServer

WORKERS = 4


def queue(world: World, count: int) -> list[str]:
    """``count`` notifications to ana's e-mail channel, due now."""
    channel = world.add_channel("ana", EMAIL)
    user_id = world.rows("SELECT id FROM users WHERE username = 'ana'")[0]["id"]
    subjects = [f"Alerta {i:02d}" for i in range(count)]
    with world.db.transaction() as conn:
        for subject in subjects:
            notification = new_notification("ana", "correo", subject, "cuerpo", world.clock.now())
            notify_store.enqueue(conn, notification, user_id=user_id, channel_id=channel["id"])
    return subjects


def test_smtp_down_then_up_delivers_every_notification_once(world: World, smtp_port: int) -> None:
    subjects = queue(world, 5)
    for wait_s in (0, 30, 60, 120):  # down: attempts at 0, 30, 90 and 210 s
        world.clock.advance(wait_s)
        assert world.deliver() == 5
    server = SmtpServer(smtp_port)
    server.start()
    try:
        world.clock.advance(300)
        assert world.deliver() == 5
        world.clock.advance(3600)
        assert world.deliver() == 0
    finally:
        server.stop()
    assert sorted(mail.message["Subject"] for mail in server.received) == subjects
    log = world.rows("SELECT outcome, COUNT(*) AS n FROM notification_attempts GROUP BY outcome ORDER BY outcome")
    assert log == [{"outcome": "delivered", "n": 5}, {"outcome": "retry", "n": 20}]
    assert world.rows("SELECT DISTINCT attempts, delivered_at, last_error FROM notifications") == [
        {"attempts": 5, "delivered_at": world.clock.now() - timedelta(seconds=3600), "last_error": None}
    ]


def test_nothing_is_tried_again_before_its_retry_time(world: World) -> None:
    queue(world, 1)
    assert world.deliver() == 1
    world.clock.advance(29)
    assert world.deliver() == 0
    world.clock.advance(1)
    assert world.deliver() == 1


def test_a_claimed_notification_is_left_alone_until_its_lease_runs_out(world: World) -> None:
    queue(world, 1)
    first = DbOutbox(world.db, world.ctx.secret_box, "replica-a", lease_s=120)
    second = DbOutbox(world.db, world.ctx.secret_box, "replica-b", lease_s=120)
    claimed = asyncio.run(first.claim_due(world.clock.now(), 10))
    assert asyncio.run(second.claim_due(world.clock.now(), 10)) == []
    world.clock.advance(120)
    again = asyncio.run(second.claim_due(world.clock.now(), 10))
    assert [n.id for n, _ in again] == [n.id for n, _ in claimed]


def test_workers_running_at_once_deliver_each_notification_exactly_once(world: World, smtp: SmtpServer) -> None:
    subjects = queue(world, 40)
    url = world.ctx.settings.database_url
    start = threading.Barrier(WORKERS)
    failures: list[BaseException] = []

    def replica(number: int) -> None:
        db = open_database(url)
        start.wait()
        try:
            world.deliver(f"replica-{number}", db=db)
        except BaseException as exc:  # reported below
            failures.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=replica, args=(n,)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert sorted(mail.message["Subject"] for mail in smtp.received) == subjects
    workers = world.rows(
        "SELECT COUNT(*) AS n, COUNT(DISTINCT notification_id) AS distinct_n,"
        " COUNT(DISTINCT worker) AS workers FROM notification_attempts"
    )
    assert workers[0]["n"] == workers[0]["distinct_n"] == 40


async def test_the_worker_delivers_what_is_queued_and_stops_when_asked(world: World, smtp: SmtpServer) -> None:
    queue(world, 2)
    stop = asyncio.Event()
    task = asyncio.create_task(outbox_worker(world.ctx)(stop))
    async with asyncio.timeout(10):
        while len(smtp.received) < 2 or world.clock.sleepers == 0:
            await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert sorted(mail.message["Subject"] for mail in smtp.received) == ["Alerta 00", "Alerta 01"]


def test_a_channel_whose_secret_no_longer_decrypts_is_given_up_with_the_reason(world: World) -> None:
    channel = world.add_channel(
        "ana", {"kind": "webhook", "name": "w", "url": "http://127.0.0.1:9/x", "secret": "0123456789abcdef0123"}
    )
    world.call("POST", f"/api/v1/users/me/channels/{channel['id']}/test", user="ana")
    world.clock.advance(30)
    outbox = DbOutbox(world.db, SecretBox("another-key"), "replica-new-key")
    assert asyncio.run(outbox.claim_due(world.clock.now(), 10)) == []
    [row] = world.rows("SELECT gave_up_at, last_error FROM notifications")
    assert (row["gave_up_at"], row["last_error"]) == (
        world.clock.now(),
        "canal 'w': el secreto guardado no se descifra con CAUDAL_SECRET_KEY",
    )
