"""Review queue and ledger API with the worker and the DGA stand-in: a slot held for an impossible
value (a negative flow) is corrected by a person, sent with the corrected values, and the correction
is on record."""

from __future__ import annotations

import pytest

from tests.compliance import worker_support as support

SLOT = support.utc("2026-11-28T12:00:00")
APPROVE = "/api/v1/compliance/review/{}/approve"
DISCARD = "/api/v1/compliance/submissions/{}/discard"


@pytest.fixture
async def site(app_client, clock, database_url, dga):
    db = app_client.app.state.ctx.db
    point_id = support.seed(db, clock.now())
    support.add_readings(db, point_id, SLOT, flow=-3, totalizer=1000, water_table=30)
    support.configure_dga(db, point_id, dga.url, clock.now(), valid_to="2026-11-28T12:30:00Z")
    await support.one_pass(db, clock, database_url)
    return app_client, db, dga


def held(client) -> int:
    """The id of the one slot in the review queue (the negative flow), as an administrator sees it."""
    (item,) = client.get("/api/v1/compliance/review", headers=support.ADMIN).json()["items"]
    return item["id"]


async def test_a_held_slot_waits_in_the_review_queue_with_reasons_and_values(site):
    client, _, dga = site
    queue = client.get("/api/v1/compliance/review", headers=support.ANA).json()
    (item,) = queue["items"]
    assert (item["state"], item["reasons"]) == (
        "review",
        ["caudal -3.0 L/s es negativo", "caudal -3.0 L/s es negativo; un caudal negativo nunca se declara"],
    )
    assert item["values"] == {
        "caudal": "-3.0",
        "totalizador": "1000.0",
        "nivel_freatico": "30.0",
        "altura_limnimetrica_cm": None,
    }
    assert client.get("/api/v1/compliance/review", headers=support.BOB).json()["items"] == []
    assert support.posts(dga) == []


async def test_accepted_with_a_correction_is_sent_with_the_corrected_values(site, clock, database_url):
    client, db, dga = site
    item_id = held(client)
    answer = client.post(
        APPROVE.format(item_id),
        headers=support.ADMIN,
        json={"values": {"caudal": "19.5"}, "reason": "sign wired backwards; flow from the log book"},
    )
    assert answer.status_code == 200, answer.text
    await support.one_pass(db, clock, database_url)
    assert [p["body"] for p in support.posts(dga)] == [support.body("2026-11-28", "08:00:00", "19.50", "1000", "30.00")]
    shown = client.get(f"/api/v1/compliance/submissions/{item_id}", headers=support.ANA).json()
    assert (shown["state"], shown["corrected_values"], shown["reviewed_by"], shown["review_reason"]) == (
        "accepted",
        {"caudal": "19.5"},
        "admin",
        "sign wired backwards; flow from the log book",
    )
    assert (
        shown["measurement"] == support.body("2026-11-28", "08:00:00", "19.50", "1000", "30.00")["medicionSubterranea"]
    )
    kinds = [e["kind"] for e in client.get("/api/v1/compliance/log", headers=support.ADMIN).json()["items"]]
    assert "review.correct" in kinds


@pytest.mark.parametrize(
    ("decision", "status", "message"),
    [
        ({"values": {"caudal": "19.5"}}, 422, "body: reason es obligatorio cuando se corrigen los valores"),
        (
            {"values": {"caudal": "-1"}, "reason": "typo"},
            422,
            "values: caudal -1 L/s es negativo; un caudal negativo nunca se declara",
        ),
        ({}, 422, "values: caudal -3.0 L/s es negativo; un caudal negativo nunca se declara"),  # approved as it is
    ],
)
async def test_bad_review_decisions_are_refused_and_change_nothing(site, decision, status, message):
    client, _, _ = site
    item_id = held(client)
    answer = client.post(APPROVE.format(item_id), headers=support.ADMIN, json=decision)
    assert (answer.status_code, answer.json()["error"]["message"]) == (status, message)
    assert client.get(f"/api/v1/compliance/submissions/{item_id}", headers=support.ADMIN).json()["state"] == "review"


async def test_only_an_administrator_decides(site):
    client, _, _ = site
    item_id = held(client)
    assert client.post(APPROVE.format(item_id), headers=support.ANA, json={}).status_code == 403


async def test_a_discarded_slot_is_never_sent_and_keeps_the_reason(site, clock, database_url):
    client, db, dga = site
    item_id = held(client)
    answer = client.post(DISCARD.format(item_id), headers=support.ADMIN, json={"reason": "meter under maintenance"})
    assert (answer.status_code, answer.json()["state"], answer.json()["review_reason"]) == (
        200,
        "discarded",
        "meter under maintenance",
    )
    await support.one_pass(db, clock, database_url)
    again = client.post(APPROVE.format(item_id), headers=support.ADMIN, json={})
    assert again.status_code == 409
    assert support.posts(dga) == [] and support.ledger(db)[0][1] == "discarded"


async def test_submissions_are_listed_with_their_attempts_and_no_password(site, clock, database_url):
    client, db, _ = site
    item_id = held(client)
    client.post(
        APPROVE.format(item_id),
        headers=support.ADMIN,
        json={"values": {"caudal": "3"}, "reason": "sign wired backwards"},
    )
    await support.one_pass(db, clock, database_url)
    page = client.get(
        "/api/v1/compliance/submissions",
        headers=support.ANA,
        params={"state": "accepted", "from": "2026-11-28T12:00:00Z", "to": "2026-11-28T13:00:00Z"},
    ).json()
    (shown,) = page["items"]
    assert page["total"] == 1
    assert [(a["kind"], a["http_status"], a["outcome"]) for a in shown["attempts"]] == [
        ("send", 200, "accepted"),
        ("check", 200, "confirmed"),
    ]
    assert shown["attempts"][0]["request"]["body"]["autenticacion"]["password"] == "***"
    assert "clave-snia" not in str(page)


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"state": "acepted"}, ["query", "state"]),
        ({"check_result": "confirmd"}, ["query", "check_result"]),
        ({"from": "2026-11-28T12:00:00"}, ["query", "from"]),
        ({"to": "2026-11-28T13:00:00"}, ["query", "to"]),
    ],
)
async def test_a_bad_submission_filter_is_refused_naming_it(site, params, loc):
    answer = site[0].get("/api/v1/compliance/submissions", headers=support.ANA, params=params)
    assert (answer.status_code, [d["loc"] for d in answer.json()["error"]["details"]]) == (422, [loc])
