"""The compliance worker dies at each step of a submission — before the attempt is recorded,
after the request was sent (the DGA stored it, the reply is lost), after the reply was recorded —
injected at that exact step, against the real DGA stand-in over HTTP. Later passes of a fresh
worker finish the job; the stand-in's log of requests is asserted exactly: the only second POST is
the resend of the slot that was in flight, said so in the compliance log and counted in /metrics."""

from __future__ import annotations

import pytest

from compliance.dga.client import DgaClient
from compliance.dga.send import DgaSender
from tests.compliance import worker_support as support

SLOT = support.utc("2026-11-28T12:00:00")
PASSES = ("2026-11-28T13:05:00+00:00", "2026-11-29T13:05:00+00:00", "2026-11-30T13:05:00+00:00")


class Killed(BaseException):
    """The worker process dies here: nothing after this line of it runs (no ``except Exception`` catches it)."""


def kill_once(monkeypatch: pytest.MonkeyPatch, owner: type, name: str, *, after: bool) -> None:
    """Replace ``owner.name`` so that its first call dies before (or right after) doing its work."""
    real = getattr(owner, name)

    def dying(*args, **kwargs):  # a step run inside a transaction: dying there rolls it back, as a kill would
        monkeypatch.setattr(owner, name, real)
        raise Killed(name)

    async def dying_after(*args, **kwargs):
        monkeypatch.setattr(owner, name, real)
        await real(*args, **kwargs)
        raise Killed(name)

    monkeypatch.setattr(owner, name, dying_after if after else dying)


STEPS = {
    # killed before the attempt row was committed: nothing left; the next pass sends it once
    "before_the_attempt_record": ((DgaSender, "_start_send", False), ["POST 13:05 28", "GET"], 0),
    # killed after the DGA stored it, before the reply was recorded: resent the following day, "Ya existe"
    "after_the_send": ((DgaClient, "send", True), ["POST 13:00 28", "POST 13:05 29", "GET"], 1),
    # killed after the reply was recorded: accepted; the next pass only checks it by GET
    "after_the_reply": ((DgaSender, "_send", True), ["POST 13:00 28", "GET"], 0),
}


def exchanges(stand_in) -> list[str]:
    """Each request as "POST HH:MM DD" (UTC, from timeStampOrigen's UTC-4 wall clock) or "GET"."""
    shown = []
    for request in stand_in.received:
        if request["method"] == "GET":
            shown.append("GET")
            continue
        origin = request["headers"]["timeStampOrigen"]  # yyyy-MM-ddTHH:mm:ss-0000 in UTC-4
        hour = (int(origin[11:13]) + 4) % 24
        day = int(origin[8:10]) + (int(origin[11:13]) + 4) // 24
        shown.append(f"POST {hour:02d}:{origin[14:16]} {day}")
    return shown


@pytest.mark.parametrize("step", list(STEPS))
async def test_a_worker_killed_at_each_step_of_a_submission(
    db, database_url, clock, dga, point_id, app_client, monkeypatch, step
):
    (owner, name, after), expected, resends = STEPS[step]
    support.add_readings(db, point_id, SLOT, flow=10.5, totalizer=1000, water_table=30)
    support.configure_dga(db, point_id, dga.url, clock.now(), valid_to="2026-11-28T12:30:00Z")
    kill_once(monkeypatch, owner, name, after=after)
    with pytest.raises(Killed):
        await support.one_pass(db, clock, database_url)
    for when in PASSES:
        clock.set(when)
        await support.one_pass(db, clock, database_url)
    (stored,) = dga.stored.values()
    with db.connect() as conn:
        logged = conn.fetchval("SELECT COUNT(*) FROM compliance_events WHERE kind = 'submission.in_flight_resend'")
    metrics = app_client.get("/metrics", headers=support.ADMIN).text
    assert exchanges(dga) == expected
    assert support.ledger(db) == [(SLOT.isoformat(), "accepted", stored.comprobante)]
    assert (logged, f'caudal_dga_in_flight_resends{{regulator="dga"}} {float(resends)}') == (
        resends,
        next(line for line in metrics.splitlines() if line.startswith("caudal_dga_in_flight_resends{")),
    )
