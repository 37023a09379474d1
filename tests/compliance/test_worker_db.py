"""The worker end to end: readings in the database -> one pass -> the DGA stand-in over HTTP."""

from __future__ import annotations

import json

from tests.compliance import worker_support as support

SLOT_12 = support.utc("2026-11-28T12:00:00")
SLOT_13 = support.utc("2026-11-28T13:00:00")


def two_good_slots(db, point_id):
    support.add_readings(db, point_id, SLOT_12, flow=12.345, totalizer=154320.9, water_table=35.424)
    support.add_readings(db, point_id, SLOT_13, flow=12.5, totalizer=154365.2, water_table=35.5)


async def test_due_slots_are_sent_with_exact_bodies_and_accepted(db, database_url, clock, dga, point_id):
    two_good_slots(db, point_id)
    support.configure_dga(db, point_id, dga.url, clock.now())
    clock.set("2026-11-28T13:15:00+00:00")
    await support.one_pass(db, clock, database_url)
    assert support.posts(dga) == [
        {
            "codigoObra": support.CODE,
            "timeStampOrigen": "2026-11-28T09:15:00-0000",
            "body": support.body("2026-11-28", "08:00:00", "12.35", "154320", "35.42"),
        },
        {
            "codigoObra": support.CODE,
            "timeStampOrigen": "2026-11-28T09:15:00-0000",
            "body": support.body("2026-11-28", "09:00:00", "12.50", "154365", "35.50"),
        },
    ]
    stored = {key[2]: value.comprobante for key, value in dga.stored.items()}
    assert support.ledger(db) == [
        (SLOT_12.isoformat(), "accepted", stored["08:00:00"]),
        (SLOT_13.isoformat(), "accepted", stored["09:00:00"]),
    ]


async def test_accepted_slots_are_checked_by_get_and_the_result_recorded(db, database_url, clock, dga, point_id):
    two_good_slots(db, point_id)
    support.configure_dga(db, point_id, dga.url, clock.now())
    clock.set("2026-11-28T13:15:00+00:00")
    await support.one_pass(db, clock, database_url)
    gets = [(r["query"]["numeroComprobante"]) for r in dga.received if r["method"] == "GET"]
    with db.connect() as conn:
        rows = conn.fetchall("SELECT state, comprobante, check_result FROM compliance_submissions ORDER BY slot")
    assert len(gets) == 2, support.journal(db)
    assert [(row["state"], row["comprobante"], row["check_result"]) for row in rows] == [
        ("accepted", c, "confirmed") for c in gets
    ], support.journal(db)


async def test_nothing_is_sent_twice_on_later_passes(db, database_url, clock, dga, point_id):
    two_good_slots(db, point_id)
    support.configure_dga(db, point_id, dga.url, clock.now())
    clock.set("2026-11-28T13:15:00+00:00")
    await support.one_pass(db, clock, database_url)
    clock.advance(30 * 60)
    await support.one_pass(db, clock, database_url)
    clock.advance(2 * 24 * 3600)
    await support.one_pass(db, clock, database_url)
    sent = [p["body"]["medicionSubterranea"]["horaMedicion"] for p in support.posts(dga)]
    assert sent[:2] == ["08:00:00", "09:00:00"], support.journal(db)
    assert (
        sum(
            1
            for p in support.posts(dga)
            if p["body"]["medicionSubterranea"]["horaMedicion"] in ("08:00:00", "09:00:00")
        )
        == 2
    )


async def test_shadow_mode_sends_nothing_and_logs_the_payload(db, database_url, clock, dga, point_id):
    two_good_slots(db, point_id)
    support.configure_dga(db, point_id, dga.url, clock.now(), mode="shadow")
    clock.set("2026-11-28T13:15:00+00:00")
    await support.one_pass(db, clock, database_url)
    assert dga.received == []
    assert support.ledger(db) == [(SLOT_12.isoformat(), "shadowed", None), (SLOT_13.isoformat(), "shadowed", None)]
    with db.connect() as conn:
        logged = conn.fetchall("SELECT detail FROM compliance_events WHERE kind = 'submission.shadowed' ORDER BY id")
    request = json.loads(logged[0]["detail"])["request"]
    assert request["body"] == {
        **support.body("2026-11-28", "08:00:00", "12.35", "154320", "35.42"),
        "autenticacion": {"password": "***", "rutEmpresa": support.RUT_EMPRESA, "rutUsuario": "12345678-5"},
    }


async def test_a_slot_without_data_is_a_visible_gap_and_nothing_is_sent(db, database_url, clock, dga, point_id):
    support.add_readings(db, point_id, SLOT_13, flow=12.5, totalizer=154365.2, water_table=35.5)
    support.configure_dga(db, point_id, dga.url, clock.now())
    clock.set("2026-11-28T13:15:00+00:00")
    await support.one_pass(db, clock, database_url)
    assert [p["body"]["medicionSubterranea"]["horaMedicion"] for p in support.posts(dga)] == ["09:00:00"]
    assert support.ledger(db)[0] == (SLOT_12.isoformat(), "no_data", None)


async def test_late_readings_fill_a_gap_on_a_later_pass(db, database_url, clock, dga, point_id, app_client):
    support.configure_dga(db, point_id, dga.url, clock.now())
    await support.one_pass(db, clock, database_url)
    assert support.ledger(db) == [(SLOT_12.isoformat(), "no_data", None)]
    support.upload(app_client, {SLOT_12: {"flow": 12.345, "totalizer": 154320.9, "level": 14.576}}, clock.now())
    clock.advance(5 * 60)
    await support.one_pass(db, clock, database_url)
    assert [p["body"] for p in support.posts(dga)] == [
        support.body("2026-11-28", "08:00:00", "12.35", "154320", "35.42")
    ]
    assert support.ledger(db)[0][1] == "accepted"
