"""Compliance events that need a person become alerts and e-mails (the alert timer reads them by SQL).

The compliance worker runs against the DGA stand-in exactly as in
tests/compliance/test_worker_rules_db.py; the alert timer and the outbox then run on the same
database, with a real SMTP server (aiosmtpd).
"""

from __future__ import annotations

import pytest

from central.crypto import SecretBox
from central.db import Database
from central.notify.channels import Notifier
from central.notify.outbox import DbOutbox, deliver_pass
from central.telemetry.alerts.service import evaluate_timer
from compliance.registry import labels
from compliance.standins.dga import Registration, run_dga_standin
from protocols.clock import ManualClock
from tests.central.notify.support import SmtpServer, smtp_settings
from tests.compliance.worker_support import (
    CODE,
    INFORMANT,
    PASSWORD,
    REGISTRY,
    RUT_EMPRESA,
    SECRET_KEY,
    add_readings,
    configure_dga,
    one_pass,
    seed,
    utc,
)

SLOT_12 = utc("2026-11-28T12:00:00")
BLOCKED = (
    "Envíos a la DGA detenidos: la DGA rechazó al informante de la obra. Corrija el RUT o la clave del"
    " informante en la configuración de la obra para reanudarlos. Detalle: el envío a la DGA de OB-0601-444 se"
    " detuvo: el informante no está registrado en la obra: Usuario no es el informante registrado en la Obra."
    " Corrija el RUT o la clave del informante en la configuración de la obra para reanudarlo."
)


@pytest.fixture
def point_id(db: Database, clock: ManualClock) -> int:
    point = seed(db, clock.now())
    with db.transaction() as conn:
        conn.execute("UPDATE users SET email = 'admin@agua.example' WHERE username = 'admin'")
    add_readings(db, point, SLOT_12, flow=10, totalizer=1000, water_table=30)
    return point


async def deliver(db: Database, smtp: SmtpServer, clock: ManualClock) -> None:
    outbox = DbOutbox(db, SecretBox(SECRET_KEY), "test-worker")
    async with Notifier(smtp_settings(smtp.port)) as notifier:
        await deliver_pass(outbox, notifier, clock)


def live(db: Database) -> list[tuple[str, str, str]]:
    with db.connect() as conn:
        rows = conn.fetchall("SELECT kind, severity, status FROM alerts ORDER BY opened_at, kind")
    return [(row["kind"], row["severity"], row["status"]) for row in rows]


async def refused_informant(db: Database, database_url: str, clock: ManualClock, point_id: int) -> None:
    """The DGA refuses the work's informant: the work is blocked (a work.blocked event)."""
    registry = {CODE: Registration(INFORMANT, "another-password")}
    async with run_dga_standin(registry, RUT_EMPRESA, clock=clock) as dga:
        configure_dga(db, point_id, dga.url, clock.now())
        await one_pass(db, clock, database_url)


async def test_an_unrecoverable_informant_raises_a_work_blocked_alert_and_an_email(
    db: Database, database_url: str, clock: ManualClock, point_id: int, smtp: SmtpServer
) -> None:
    await refused_informant(db, database_url, clock, point_id)
    evaluate_timer(db, clock.now(), regulators=labels())
    await deliver(db, smtp, clock)
    assert ("work.blocked", "critical", "open") in live(db)
    mails = sorted(
        (mail.recipients, mail.message["Subject"], mail.message.get_content().splitlines()[0]) for mail in smtp.received
    )
    assert mails == [
        (
            ["admin@agua.example"],
            f"[Caudal] Alerta crítica: {CODE}",
            "1 envío(s) a la DGA rechazado(s) sin posibilidad de reintento",
        ),
        (["admin@agua.example"], f"[Caudal] Alerta crítica: {CODE}", BLOCKED),
    ]


async def test_new_credentials_clear_the_work_blocked_alert(
    db: Database, database_url: str, clock: ManualClock, point_id: int, smtp: SmtpServer
) -> None:
    await refused_informant(db, database_url, clock, point_id)
    evaluate_timer(db, clock.now(), regulators=labels())
    configure_dga(db, point_id, "http://127.0.0.1:9", clock.now(), informant_password=PASSWORD)
    clock.advance(30)
    evaluate_timer(db, clock.now(), regulators=labels())
    with db.connect() as conn:
        row = conn.fetchone("SELECT status, clear_message FROM alerts WHERE kind = 'work.blocked'")
    assert row == {"status": "cleared", "clear_message": "Los envíos de la obra se reanudan"}


async def test_a_blocked_work_keeps_one_alert_over_many_timer_passes(
    db: Database, database_url: str, clock: ManualClock, point_id: int
) -> None:
    await refused_informant(db, database_url, clock, point_id)
    for _ in range(3):
        evaluate_timer(db, clock.now(), regulators=labels())
        clock.advance(30)
    assert [kind for kind, _, _ in live(db)].count("work.blocked") == 1


async def test_a_held_slot_raises_a_warning_at_once_and_an_email_then_escalates_before_its_deadline(
    db: Database, database_url: str, clock: ManualClock, point_id: int, smtp: SmtpServer
) -> None:
    """13:00's flow reads -3 L/s (impossible): held in the 13:15 pass; its deadline is 14:00."""
    add_readings(db, point_id, utc("2026-11-28T13:00:00"), flow=-3, totalizer=1000, water_table=30)
    async with run_dga_standin(REGISTRY, RUT_EMPRESA, clock=clock) as dga:
        configure_dga(
            db, point_id, dga.url, clock.now(), valid_from="2026-11-28T13:00:00Z", valid_to="2026-11-28T13:30:00Z"
        )
        clock.set("2026-11-28T13:15:00+00:00")
        await one_pass(db, clock, database_url)
    evaluate_timer(db, clock.now(), regulators=labels())
    opened = live(db)
    clock.set("2026-11-28T13:45:00+00:00")
    evaluate_timer(db, clock.now(), regulators=labels())
    await deliver(db, smtp, clock)
    subjects = sorted(mail.message["Subject"] for mail in smtp.received)
    assert (opened, live(db)) == ([("submission.held", "warning", "open")], [("submission.held", "critical", "open")])
    assert subjects == [f"[Caudal] Alerta advertencia: {CODE}", f"[Caudal] Alerta escalada crítica: {CODE}"]
