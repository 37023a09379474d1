"""SMA reporting by the worker: one call per timestamp with every parameter, the voucher kept,
one login for many calls, an unanswered call tried again within minutes."""

from __future__ import annotations

import pytest

from compliance.sma.config import SmaConfigIn
from compliance.standins.sma import Device, run_sma_standin
from tests.compliance.worker_support import (
    add_readings,
    configure,
    ledger,
    one_pass,
    seed,
    upload,
    utc,
)

USER = "12345678-5"
DEVICE = Device("UF1", "P7", "12180", {"Q": "l/s", "VA": "m3"})


def sma_config(url: str, mode: str = "live", cadence_minutes: int = 5) -> SmaConfigIn:
    return SmaConfigIn(
        mode=mode,
        uf_id="UF1",
        proceso_id="P7",
        dispositivo_id="12180",
        usuario=USER,
        password="sma-clave",
        base_url=url,
        timestamp_utc_offset_hours=-4,
        cadence_minutes=cadence_minutes,
        parameters=[
            {"variable": "flow", "nombre": "Q", "unidad": "l/s"},
            {"variable": "totalizer", "nombre": "VA", "unidad": "m3", "decimals": 0},
        ],
    )


@pytest.fixture
async def sma(clock):
    async with run_sma_standin({USER: "sma-clave"}, [DEVICE], clock=clock) as stand_in:
        yield stand_in


@pytest.fixture
def point_id(db, clock):
    point = seed(db, clock.now())
    add_readings(db, point, utc("2026-11-28T13:00:00"), flow=42.5, totalizer=42500.4)
    add_readings(db, point, utc("2026-11-28T13:05:00"), flow=42.0, totalizer=42513.2)
    return point


async def test_each_timestamp_goes_in_one_call_and_the_voucher_is_kept(db, database_url, clock, sma, point_id):
    configure(db, point_id, "sma", sma_config(sma.url), clock.now())
    clock.set("2026-11-28T13:08:00+00:00")
    await one_pass(db, clock, database_url)
    clock.set("2026-11-28T13:13:00+00:00")
    await one_pass(db, clock, database_url)
    calls = [(r["path"], r["body"]) for r in sma.received]
    assert calls[0][0] == "/api/v1/auth"
    assert calls[1:] == [
        (
            "/api/v1/ufs/UF1/procesos/P7/registros",
            [
                {
                    "dispositivoId": "12180",
                    "parametros": [
                        {"nombre": "Q", "valor": "42.50", "unidad": "l/s", "estampaTiempo": "2026-11-28T09:00:00"},
                        {"nombre": "VA", "valor": "42500", "unidad": "m3", "estampaTiempo": "2026-11-28T09:00:00"},
                    ],
                }
            ],
        ),
        (
            "/api/v1/ufs/UF1/procesos/P7/registros",
            [
                {
                    "dispositivoId": "12180",
                    "parametros": [
                        {"nombre": "Q", "valor": "42.00", "unidad": "l/s", "estampaTiempo": "2026-11-28T09:05:00"},
                        {"nombre": "VA", "valor": "42513", "unidad": "m3", "estampaTiempo": "2026-11-28T09:05:00"},
                    ],
                }
            ],
        ),
    ]
    states = [(slot[11:16], state, voucher is not None) for slot, state, voucher in ledger(db, "sma")]
    assert states == [("13:00", "accepted", True), ("13:05", "accepted", True), ("13:10", "no_data", False)]


async def test_shadow_mode_calls_nothing(db, database_url, clock, sma, point_id):
    configure(db, point_id, "sma", sma_config(sma.url, mode="shadow"), clock.now())
    clock.set("2026-11-28T13:08:00+00:00")
    await one_pass(db, clock, database_url)
    assert sma.received == []
    assert [state for _, state, _ in ledger(db, "sma")] == ["shadowed", "shadowed"]


async def test_refused_credentials_stop_the_point_with_an_alert(db, database_url, clock, point_id):
    async with run_sma_standin({USER: "other"}, [DEVICE], clock=clock) as sma:
        configure(db, point_id, "sma", sma_config(sma.url), clock.now())
        clock.set("2026-11-28T13:08:00+00:00")
        await one_pass(db, clock, database_url)
    assert [r["path"] for r in sma.received] == ["/api/v1/auth"]
    assert [state for _, state, _ in ledger(db, "sma")] == ["unrecoverable", "pending"]
    with db.connect() as conn:
        assert conn.fetchval("SELECT kind FROM compliance_events WHERE alert") == "work.blocked"


def stamps(sma) -> list[str]:
    """The estampaTiempo of each registros call the stand-in received, in order."""
    return [
        r["body"][0]["parametros"][0]["estampaTiempo"][11:] for r in sma.received if r["path"].endswith("/registros")
    ]


async def test_an_unanswered_call_is_tried_again_within_minutes_not_the_next_day(
    db, database_url, clock, sma, point_id
):
    configure(db, point_id, "sma", sma_config(sma.url), clock.now())
    sma.queue_faults("500")  # the first login of the 13:00 call fails: no answer
    clock.set("2026-11-28T13:08:00+00:00")
    await one_pass(db, clock, database_url)
    after_failure = [state for _, state, _ in ledger(db, "sma")]
    clock.set("2026-11-28T13:08:59+00:00")
    await one_pass(db, clock, database_url)
    sent_before_the_wait = stamps(sma)
    clock.set("2026-11-28T13:09:00+00:00")
    await one_pass(db, clock, database_url)
    assert (after_failure, sent_before_the_wait) == (["retry_scheduled", "accepted"], ["09:05:00"])
    assert stamps(sma) == ["09:05:00", "09:00:00"]
    assert [state for _, state, _ in ledger(db, "sma")] == ["accepted", "accepted"]


async def test_missing_timestamps_are_created_back_seven_days(db, database_url, clock, sma, point_id):
    configure(db, point_id, "sma", sma_config(sma.url, mode="shadow", cadence_minutes=1440), clock.now())
    clock.advance(10 * 24 * 3600)  # the server was down for ten days; daily timestamps at 00:00 UTC
    await one_pass(db, clock, database_url)
    assert [slot for slot, _, _ in ledger(db, "sma")] == [f"2026-12-{day:02d}T00:00:00+00:00" for day in range(2, 9)]


async def test_a_gap_is_sent_when_its_readings_arrive_days_late(db, database_url, clock, sma, point_id, app_client):
    """The 13:10 timestamp had no readings (a gap); the gateway's buffer delivers them three days
    later through ingest and the rollup worker: the gap is built again and sent, like the DGA's."""
    configure(db, point_id, "sma", sma_config(sma.url), clock.now())
    clock.set("2026-11-28T13:13:00+00:00")
    await one_pass(db, clock, database_url)
    before = [(slot[11:16], state) for slot, state, _ in ledger(db, "sma")]
    clock.advance(3 * 24 * 3600)
    upload(app_client, {utc("2026-11-28T13:10:00"): {"flow": 41.0, "totalizer": 42525.0}}, clock.now())
    await one_pass(db, clock, database_url)
    late = [(slot[11:16], state) for slot, state, _ in ledger(db, "sma")][:3]
    assert (before, late) == (
        [("13:00", "accepted"), ("13:05", "accepted"), ("13:10", "no_data")],
        [("13:00", "accepted"), ("13:05", "accepted"), ("13:10", "accepted")],
    )
    assert stamps(sma)[:3] == ["09:00:00", "09:05:00", "09:10:00"]
