"""Late data is never lost: readings an edge buffer delivers after an outage, through the real
ingest route and the rollup worker, fill the ``no_data`` gaps, and the backlog they make is
sent paced while each new slot still goes within its hour (docs/dga.md)."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise

import pytest

from central.crypto import SecretBox
from compliance.worker import run_once
from protocols.clock import ManualClock
from tests.compliance import worker_support as support

OUTAGE_FROM = support.utc("2026-11-23T13:00:00")
BACK_AT = support.utc("2026-11-28T13:02:00")  # the link returns; the gateway uploads its buffer
FIRST_NEW = support.utc("2026-11-28T13:00:00")  # the first slot due after that
STEP = timedelta(minutes=5)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(OUTAGE_FROM.isoformat())


def readings_between(start: datetime, end: datetime) -> dict[datetime, dict[str, float]]:
    """What the meter measured every 10 minutes in [start, end): 10 L/s, 36 m3 an hour."""
    readings, ts = {}, start
    while ts < end:
        hours = (ts - OUTAGE_FROM).total_seconds() / 3600
        readings[ts] = {"flow": 10.0, "totalizer": 1000 + 36 * hours, "level": 20.0}
        ts += timedelta(minutes=10)
    return readings


async def outage_then_buffer(db, database_url, clock, dga, point_id, app_client) -> None:
    """Five days without uploads (passes every 6 h leave gaps), then the buffered readings at
    once, then 12 hours of 5-minute steps while the gateway uploads every 10 minutes."""
    support.configure_dga(db, point_id, dga.url, OUTAGE_FROM, valid_from=OUTAGE_FROM.isoformat())
    while clock.now() < BACK_AT:
        await support.one_pass(db, clock, database_url)
        clock.set(min(clock.now() + timedelta(hours=6), BACK_AT).isoformat())
    support.upload(app_client, readings_between(OUTAGE_FROM, BACK_AT), BACK_AT)
    uploaded_until = BACK_AT
    while clock.now() < BACK_AT + timedelta(hours=12):
        if clock.now() - uploaded_until >= timedelta(minutes=10):
            support.upload(app_client, readings_between(uploaded_until, clock.now()), clock.now())
            uploaded_until = clock.now()
        await support.one_pass(db, clock, database_url)
        clock.advance(STEP.total_seconds())


def submissions(db) -> list[dict]:
    with db.connect() as conn:
        return conn.fetchall(
            "SELECT slot, state, accepted_at, last_attempt_at FROM compliance_submissions"
            " WHERE regulator = 'dga' ORDER BY slot"
        )


async def test_after_a_five_day_outage_every_buffered_slot_is_accepted(
    db, database_url, clock, dga, point_id, app_client
):
    await outage_then_buffer(db, database_url, clock, dga, point_id, app_client)
    rows = submissions(db)
    expected = [OUTAGE_FROM + timedelta(hours=h) for h in range(5 * 24 + 12)]
    assert [(row["slot"], row["state"]) for row in rows] == [(slot, "accepted") for slot in expected]
    assert len(dga.stored) == len(expected)


async def test_the_backlog_is_sent_at_least_five_minutes_apart(db, database_url, clock, dga, point_id, app_client):
    await outage_then_buffer(db, database_url, clock, dga, point_id, app_client)
    sent = sorted(row["last_attempt_at"] for row in submissions(db))
    gaps = {later - earlier for earlier, later in pairwise(sent)}
    assert min(gaps) >= STEP


async def test_each_new_slot_is_accepted_within_its_hour_while_the_backlog_drains(
    db, database_url, clock, dga, point_id, app_client
):
    await outage_then_buffer(db, database_url, clock, dga, point_id, app_client)
    new = [row for row in submissions(db) if row["slot"] >= FIRST_NEW]
    assert len(new) == 12
    assert [row["slot"] for row in new if row["accepted_at"] > row["slot"] + timedelta(hours=1)] == []


ONE_SLOT = {"valid_from": "2026-11-23T12:00:00Z", "valid_to": "2026-11-23T12:30:00Z"}
GAP = support.utc("2026-11-23T12:00:00")


async def a_gap_filled_days_later(
    db, database_url, clock, dga, point_id, app_client, days: int, late_data_days: int | None
) -> list:
    support.configure_dga(db, point_id, dga.url, clock.now(), **ONE_SLOT)
    compliance = support.worker_settings(late_data_days=late_data_days)
    await run_once(db, clock, SecretBox(support.SECRET_KEY), support.central_settings(database_url), compliance)
    clock.advance(days * 24 * 3600)
    support.upload(app_client, {GAP: {"flow": 10.0, "totalizer": 1000.0, "level": 20.0}}, clock.now())
    await run_once(db, clock, SecretBox(support.SECRET_KEY), support.central_settings(database_url), compliance)
    return [state for _, state, _ in support.ledger(db)]


async def test_a_gap_is_filled_at_any_age_back_to_valid_from(db, database_url, clock, dga, point_id, app_client):
    assert await a_gap_filled_days_later(db, database_url, clock, dga, point_id, app_client, 200, None) == ["accepted"]


async def test_a_gap_older_than_the_configured_horizon_stays_a_gap(db, database_url, clock, dga, point_id, app_client):
    assert await a_gap_filled_days_later(db, database_url, clock, dga, point_id, app_client, 91, 90) == ["no_data"]
