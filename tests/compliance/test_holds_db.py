"""What is measured is declared on time; only impossible values are held, loudly. Real worker, real
DGA stand-in, real alert timer, both databases."""

from __future__ import annotations

import pytest

from central.telemetry.alerts.service import evaluate_timer
from compliance.registry import labels
from tests.compliance.worker_support import (
    ADMIN,
    CODE,
    add_readings,
    body,
    configure_dga,
    ledger,
    one_pass,
    posts,
    utc,
)

SLOT = utc("2026-11-28T13:00:00")
ONE_SLOT = {"valid_from": "2026-11-28T13:00:00Z", "valid_to": "2026-11-28T13:30:00Z"}  # the 13:00 slot only
API = "/api/v1/compliance/submissions"


def alerts(db) -> list[tuple[str, str, str]]:
    with db.connect() as conn:
        rows = conn.fetchall("SELECT kind, severity, status FROM alerts WHERE kind LIKE 'submission.%' ORDER BY id")
    return [(row["kind"], row["severity"], row["status"]) for row in rows]


def accepted_at(db):
    with db.connect() as conn:
        return conn.fetchval("SELECT accepted_at FROM compliance_submissions WHERE slot = :s", {"s": SLOT})


@pytest.fixture
def one_slot_pass(db, database_url, clock, dga, point_id):
    """Run: the 13:00 slot measured at ``flow`` L/s (totalizer 1000 m³, water table 30 m), the DGA
    configured for that slot alone, its stand-in given ``faults``, one worker pass at ``at``;
    answers the slot's submission id."""

    async def run(flow: float, at: str = "2026-11-28T13:15:00+00:00", faults: tuple[str, ...] = ()) -> int:
        clock.set(at)
        add_readings(db, point_id, SLOT, flow=flow, totalizer=1000, water_table=30)
        configure_dga(db, point_id, dga.url, clock.now(), **ONE_SLOT)
        dga.queue_faults(*faults)
        await one_pass(db, clock, database_url)
        with db.connect() as conn:
            return conn.fetchval("SELECT id FROM compliance_submissions WHERE slot = :s", {"s": SLOT})

    return run


async def test_a_flow_above_the_water_right_is_sent_as_measured_within_its_deadline(db, dga, one_slot_pass):
    """Water right 20 L/s; the well pumps 30 L/s."""
    await one_slot_pass(flow=30)
    assert [p["body"] for p in posts(dga)] == [body("2026-11-28", "09:00:00", "30.00", "1000", "30.00")]
    ((_, measurement),) = [(key, stored.measurement) for key, stored in dga.stored.items()]
    assert measurement["caudal"] == "30.00"
    assert [state for _, state, _ in ledger(db)] == ["accepted"]
    assert accepted_at(db) <= utc("2026-11-28T14:00:00")


@pytest.mark.parametrize(
    ("now", "severity"),
    [
        ("2026-11-28T13:15:00+00:00", "warning"),  # 45 minutes to the deadline
        ("2026-11-28T13:45:00+00:00", "critical"),  # 15 minutes to the deadline
    ],
)
async def test_a_negative_flow_is_held_and_alerted_in_the_same_pass(db, clock, dga, one_slot_pass, now, severity):
    await one_slot_pass(flow=-4, at=now)
    evaluate_timer(db, clock.now(), regulators=labels())
    assert (posts(dga), [state for _, state, _ in ledger(db)]) == ([], ["review"])
    assert alerts(db) == [("submission.held", severity, "open")]


async def test_a_held_slot_alert_turns_critical_as_its_deadline_nears_and_clears_after_the_decision(
    db, clock, one_slot_pass, app_client
):
    held = await one_slot_pass(flow=-4)
    evaluate_timer(db, clock.now(), regulators=labels())
    clock.set("2026-11-28T13:46:00+00:00")
    evaluate_timer(db, clock.now(), regulators=labels())
    escalated = alerts(db)
    answer = app_client.post(
        f"{API}/{held}/correct", headers=ADMIN, json={"values": {"caudal": "4"}, "reason": "flowmeter wired backwards"}
    )
    evaluate_timer(db, clock.now(), regulators=labels())
    assert (escalated, answer.status_code, alerts(db)) == (
        [("submission.held", "critical", "open")],
        200,
        [("submission.held", "critical", "cleared")],
    )


async def test_discarding_a_plausible_measurement_is_refused_with_the_reason(db, one_slot_pass, app_client):
    """The DGA answered 500: the over-right slot waits for tomorrow's retry, and stays unsent."""
    refused = await one_slot_pass(flow=30, faults=("500",))
    answer = app_client.post(f"{API}/{refused}/discard", headers=ADMIN, json={"reason": "too high, looks bad"})
    assert (answer.status_code, answer.json()["error"]["message"]) == (
        409,
        (
            f"el envío {refused} está en estado rejected: sus valores pasaron los controles de plausibilidad, y una"
            " medición plausible se declara como se midió, nunca se descarta (corríjala con un motivo si está mal);"
            " descartar solo se permite a un envío en estado review, needs_review, no_data"
        ),
    )
    assert [state for _, state, _ in ledger(db)] == ["rejected"]


async def test_a_correction_of_a_plausible_value_needs_a_reason_and_is_sent_on_record(
    db, database_url, clock, dga, one_slot_pass, app_client
):
    refused = await one_slot_pass(flow=30, faults=("500",))
    unexplained = app_client.post(f"{API}/{refused}/correct", headers=ADMIN, json={"values": {"totalizador": "1001"}})
    reason = "totalizer read 1 m3 short: display photo of 10:02"
    corrected = app_client.post(
        f"{API}/{refused}/correct", headers=ADMIN, json={"values": {"totalizador": "1001"}, "reason": reason}
    )
    await one_pass(db, clock, database_url)
    shown = app_client.get(f"{API}/{refused}", headers=ADMIN).json()
    assert (unexplained.status_code, corrected.status_code) == (422, 200)
    assert (shown["state"], shown["corrected_values"], shown["reviewed_by"], shown["review_reason"]) == (
        "accepted",
        {"totalizador": "1001"},
        "admin",
        reason,
    )
    assert [p["body"]["medicionSubterranea"]["totalizador"] for p in posts(dga)] == ["1000", "1001"]


async def test_a_get_check_finding_other_values_than_those_sent_raises_an_alert(db, clock, dga, one_slot_pass):
    """The DGA stores caudal 0.00 for the 12.50 L/s sent, under the comprobante it returns."""
    await one_slot_pass(flow=12.5, faults=("store_other_caudal",))
    evaluate_timer(db, clock.now(), regulators=labels())
    with db.connect() as conn:
        row = conn.fetchone("SELECT state, check_result FROM compliance_submissions")
        (event,) = conn.fetchall("SELECT kind, message FROM compliance_events WHERE alert")
    (stored,) = dga.stored.values()
    comprobante = stored.comprobante
    assert (row["state"], row["check_result"]) == ("accepted", "mismatch")
    assert (event["kind"], event["message"]) == (
        "submission.check_mismatch",
        (
            f"OB-0601-444 medición 2026-11-28T13:00:00+00:00: la DGA guarda el comprobante {comprobante} con valores"
            " distintos de los enviados (caudal: enviado '12.50', guardado '0.00'); compárelos en SNIA"
        ),
    )
    assert alerts(db) == [("submission.check_mismatch", "critical", "open")]


async def test_a_held_slot_whose_deadline_passes_undecided_is_in_the_failure_report_with_its_cause(
    db, database_url, clock, one_slot_pass, app_client
):
    await one_slot_pass(flow=-4)
    report = f"/api/v1/compliance/reports/{CODE}/2026-11/informe-de-fallas"
    before = app_client.get(report, headers=ADMIN).text
    clock.set("2026-11-28T14:01:00+00:00")
    await one_pass(db, clock, database_url)
    after = app_client.get(report, headers=ADMIN).text
    header = "Medición (UTC-4),Plazo (UTC-4),Aceptada (UTC-4),Estado,Causa,Responsable,Detalle\n"
    assert before == header
    assert after == header + (
        "2026-11-28 09:00,2026-11-28 10:00,,retenida para revisión,Retenida para revisión por un valor imposible,"
        "Titular,caudal -4.0 L/s es negativo; caudal -4.0 L/s es negativo; un caudal negativo nunca se declara;"
        " sin decisión de una persona\n"
    )
