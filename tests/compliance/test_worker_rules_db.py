"""The ledger's sending rules with the worker, the database and the DGA stand-in: review,
the informant refused, retry on the following day, the backlog spacing with new slots first."""

from __future__ import annotations

import pytest

from compliance.standins.dga import Registration, run_dga_standin
from tests.compliance import worker_support as support

SLOT_12 = support.utc("2026-11-28T12:00:00")
ONE_SLOT = "2026-11-28T12:30:00Z"  # valid_to: the work has the 12:00 slot only


def alerts(db) -> list[tuple[str, str]]:
    with db.connect() as conn:
        rows = conn.fetchall("SELECT kind, severity FROM compliance_events WHERE alert ORDER BY id")
    return [(row["kind"], row["severity"]) for row in rows]


async def test_the_informant_refused_stops_the_work_and_raises_an_alert(db, database_url, clock, point_id):
    registry = {support.CODE: Registration(support.INFORMANT, "another-password")}
    async with run_dga_standin(registry, support.RUT_EMPRESA, clock=clock) as dga:
        for hour in (12, 13):
            support.add_readings(
                db, point_id, support.utc(f"2026-11-28T{hour}:00:00"), flow=10, totalizer=1000 + hour, water_table=30
            )
        support.configure_dga(db, point_id, dga.url, clock.now())
        clock.set("2026-11-28T13:15:00+00:00")
        await support.one_pass(db, clock, database_url)
        clock.advance(24 * 3600)
        await support.one_pass(db, clock, database_url)
    assert [p["body"]["medicionSubterranea"]["horaMedicion"] for p in support.posts(dga)] == ["08:00:00"]
    assert [state for _, state, _ in support.ledger(db)][:2] == ["unrecoverable", "pending"]
    assert alerts(db) == [("work.blocked", "critical")]
    with db.connect() as conn:
        assert conn.fetchone("SELECT blocked FROM compliance_configs")["blocked"] is True


async def test_fixed_credentials_resume_the_work_and_resend_the_refused_slot(db, database_url, clock, point_id):
    registry = {support.CODE: Registration(support.INFORMANT, "the-right-one")}
    async with run_dga_standin(registry, support.RUT_EMPRESA, clock=clock) as dga:
        support.add_readings(db, point_id, SLOT_12, flow=10, totalizer=1000, water_table=30)
        support.configure_dga(db, point_id, dga.url, clock.now())
        await support.one_pass(db, clock, database_url)
        support.configure_dga(db, point_id, dga.url, clock.now(), informant_password="the-right-one")
        clock.advance(60)
        await support.one_pass(db, clock, database_url)
    assert [p["body"]["autenticacion"]["password"] for p in support.posts(dga)] == ["clave-snia", "the-right-one"]
    assert [state for _, state, _ in support.ledger(db)] == ["accepted"]


@pytest.mark.parametrize("fault", ["500", "503", "timeout"])
async def test_a_failed_send_is_retried_the_following_day_only(db, database_url, clock, point_id, fault):
    async with run_dga_standin(support.REGISTRY, support.RUT_EMPRESA, clock=clock, hang_s=5) as dga:
        support.add_readings(db, point_id, SLOT_12, flow=10, totalizer=1000, water_table=30)
        support.configure_dga(db, point_id, dga.url, clock.now())
        dga.queue_faults(fault)
        await support.one_pass(db, clock, database_url)
        state_after_failure = support.ledger(db)[0][1]
        clock.advance(24 * 3600 - 60)
        await support.one_pass(db, clock, database_url)
        clock.advance(60)
        await support.one_pass(db, clock, database_url)
    assert state_after_failure == ("retry_scheduled" if fault == "timeout" else "rejected")
    assert [p["timeStampOrigen"] for p in support.posts(dga)] == [
        "2026-11-28T09:00:00-0000",
        "2026-11-29T09:00:00-0000",
    ]
    assert support.ledger(db)[0][1] == "accepted"


async def test_a_reply_lost_after_the_dga_stored_it_is_accepted_with_the_ya_existe_comprobante(
    db, database_url, clock, dga, point_id
):
    support.add_readings(db, point_id, SLOT_12, flow=10, totalizer=1000, water_table=30)
    support.configure_dga(db, point_id, dga.url, clock.now(), valid_to=ONE_SLOT)
    dga.queue_faults("drop_after_store")
    await support.one_pass(db, clock, database_url)
    clock.advance(24 * 3600)
    await support.one_pass(db, clock, database_url)
    (stored,) = dga.stored.values()
    assert len(support.posts(dga)) == 2
    assert support.ledger(db) == [(SLOT_12.isoformat(), "accepted", stored.comprobante)]


async def test_ok_without_comprobante_is_held_for_a_person_and_never_resent(db, database_url, clock, dga, point_id):
    support.add_readings(db, point_id, SLOT_12, flow=10, totalizer=1000, water_table=30)
    support.configure_dga(db, point_id, dga.url, clock.now(), valid_to=ONE_SLOT)
    dga.queue_faults("ok_without_comprobante")
    await support.one_pass(db, clock, database_url)
    clock.advance(3 * 24 * 3600)
    await support.one_pass(db, clock, database_url)
    assert len(support.posts(dga)) == 1
    assert support.ledger(db) == [(SLOT_12.isoformat(), "needs_review", None)]
    assert alerts(db) == [("submission.needs_review", "warning")]


async def test_a_backlog_goes_one_slot_every_five_minutes_and_each_new_slot_goes_first(
    db, database_url, clock, dga, point_id
):
    for hour in range(8, 14):
        support.add_readings(
            db, point_id, support.utc(f"2026-11-28T{hour:02d}:00:00"), flow=10, totalizer=1000 + hour, water_table=30
        )
    support.configure_dga(db, point_id, dga.url, clock.now(), valid_from="2026-11-28T08:00:00Z")
    for _ in range(30):
        await support.one_pass(db, clock, database_url)
        clock.advance(60)
    sent = [(p["body"]["medicionSubterranea"]["horaMedicion"], p["timeStampOrigen"][11:19]) for p in support.posts(dga)]
    assert sent == [
        ("08:00:00", "09:00:00"),
        ("04:00:00", "09:05:00"),
        ("09:00:00", "09:10:00"),
        ("05:00:00", "09:15:00"),
        ("06:00:00", "09:20:00"),
        ("07:00:00", "09:25:00"),
    ]


async def test_the_exact_body_of_a_held_slot_is_never_sent(db, database_url, clock, dga, point_id):
    support.add_readings(db, point_id, SLOT_12, flow=-2.5, totalizer=1000, water_table=30)
    support.configure_dga(db, point_id, dga.url, clock.now())
    await support.one_pass(db, clock, database_url)
    with db.connect() as conn:
        row = conn.fetchone("SELECT state, reasons FROM compliance_submissions")
    assert (row["state"], row["reasons"]) == (
        "review",
        '["caudal -2.5 L/s es negativo", "caudal -2.5 L/s es negativo; un caudal negativo nunca se declara"]',
    )
    assert support.posts(dga) == []
