"""A person resolves what the worker leaves for them: needs_review slots (confirm, requeue,
discard) and accepted slots whose GET check found nothing (recheck, confirm). Real worker, real
DGA stand-in, both databases; the alert timer shows the alerts clearing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from central.telemetry.alerts.service import evaluate_timer
from compliance.registry import labels
from tests.compliance.worker_support import (
    ADMIN,
    ANA,
    add_readings,
    configure_dga,
    ledger,
    one_pass,
    posts,
    seed,
    utc,
)

SLOT = utc("2026-11-28T12:00:00")
API = "/api/v1/compliance/submissions"
BODIES = {
    "confirm": {"comprobante": "C1", "reason": "seen in SNIA"},
    "requeue": {"reason": "SNIA shows nothing"},
    "discard": {"reason": "meter under maintenance"},
    "recheck": {},
    "correct": {"values": {"caudal": "9"}, "reason": "meter replaced; reading from the new one"},
}


@pytest.fixture
def site(app_client, clock, dga):
    db = app_client.app.state.ctx.db
    return app_client, db, dga, seed(db, clock.now())


async def start(site, clock, database_url, *faults: str, flow: float = 10, valid_to: str = "2026-11-28T12:30:00Z"):
    """The 12:00 slot sent (with ``faults``) by one worker pass."""
    _, db, dga, point_id = site
    add_readings(db, point_id, SLOT, flow=flow, totalizer=1000, water_table=30)
    configure_dga(db, point_id, dga.url, clock.now(), valid_to=valid_to)
    dga.queue_faults(*faults)
    await one_pass(db, clock, database_url)
    with db.connect() as conn:
        return conn.fetchval("SELECT id FROM compliance_submissions WHERE slot = :s", {"s": SLOT})


async def needs_review(site, clock, database_url) -> tuple[int, str]:
    """The DGA stored the slot but answered "00" without a comprobante: (submission id, its comprobante)."""
    submission_id = await start(site, clock, database_url, "ok_without_comprobante")
    (stored,) = site[2].stored.values()
    return submission_id, stored.comprobante


async def check_not_found(site, clock, database_url) -> tuple[int, str]:
    """Confirmed by a person with the right comprobante, but the DGA's GET does not show it yet."""
    client, db, dga, _ = site
    submission_id, comprobante = await needs_review(site, clock, database_url)
    client.post(f"{API}/{submission_id}/confirm", headers=ADMIN, json={"comprobante": comprobante, "reason": "SNIA"})
    hidden = dict(dga.stored)
    dga.stored.clear()
    clock.advance(60)
    await one_pass(db, clock, database_url)
    dga.stored.update(hidden)
    return submission_id, comprobante


def gets(dga) -> list[str]:
    return [r["query"]["numeroComprobante"] for r in dga.received if r["method"] == "GET"]


def check_of(db, submission_id: int) -> tuple[str, str | None, str | None]:
    with db.connect() as conn:
        row = conn.fetchone(
            "SELECT state, comprobante, check_result FROM compliance_submissions WHERE id = :id", {"id": submission_id}
        )
    return row["state"], row["comprobante"], row["check_result"]


def alert_status(db, kind: str) -> list[str]:
    with db.connect() as conn:
        return [
            row["status"] for row in conn.fetchall("SELECT status FROM alerts WHERE kind = :k ORDER BY id", {"k": kind})
        ]


# --- the queue ----------------------------------------------------------------------------


async def test_the_review_queue_lists_held_and_unconfirmed_slots(site, clock, database_url):
    client, db, _, point_id = site
    add_readings(db, point_id, utc("2026-11-28T13:00:00"), flow=10, totalizer=1001, water_table=30)
    clock.set("2026-11-28T13:15:00+00:00")
    await start(site, clock, database_url, "ok_without_comprobante", flow=-3, valid_to="2026-11-28T13:30:00Z")
    queues = {
        state: [
            (item["slot"], item["state"])
            for item in client.get(
                "/api/v1/compliance/review", headers=ANA, params={"state": state} if state else {}
            ).json()["items"]
        ]
        for state in (None, "review", "needs_review")
    }
    held, unconfirmed = ("2026-11-28T12:00:00Z", "review"), ("2026-11-28T13:00:00Z", "needs_review")
    assert queues == {None: [unconfirmed, held], "review": [held], "needs_review": [unconfirmed]}


async def test_the_review_queue_refuses_other_states(site):
    client = site[0]
    answer = client.get("/api/v1/compliance/review", headers=ADMIN, params={"state": "accepted"})
    assert answer.status_code == 422 and answer.json()["error"]["details"][0]["loc"] == ["query", "state"]


# --- which state allows what -------------------------------------------------------------

ROWS = [
    ("pending", None),
    ("review", None),
    ("sending", None),
    ("accepted", "confirmed"),
    ("accepted", "not_found"),
    ("retry_scheduled", None),
    ("rejected", None),
    ("unrecoverable", None),
    ("needs_review", None),
    ("no_data", None),
    ("discarded", None),
    ("shadowed", None),
]
ALLOWED = {
    "confirm": {
        ("needs_review", None): ("accepted", "C1", None),
        ("accepted", "not_found"): ("accepted", "C1", "person_confirmed"),
    },
    "requeue": {("needs_review", None): ("pending", None, None), ("unrecoverable", None): ("pending", None, None)},
    "discard": {(state, None): ("discarded", None, None) for state in ("review", "needs_review", "no_data")},
    "recheck": {("accepted", "not_found"): ("accepted", "C1", None)},
    "correct": {
        (state, None): ("pending", None, None) for state in ("pending", "review", "retry_scheduled", "rejected")
    },
}


def insert_rows(db, point_id: int, now) -> dict[tuple[str, str | None], int]:
    ids = {}
    with db.transaction() as conn:
        for hour, (state, check) in enumerate(ROWS):
            comprobante = "C1" if state == "accepted" else None
            ids[(state, check)] = conn.fetchval(
                "INSERT INTO compliance_submissions (point_id, regulator, slot, mode, state, comprobante, check_result,"
                " created_at, updated_at) VALUES (:p, 'dga', :slot, 'live', :state, :c, :check, :now, :now)"
                " RETURNING id",
                {
                    "p": point_id,
                    "slot": SLOT - timedelta(hours=hour),
                    "state": state,
                    "c": comprobante,
                    "check": check,
                    "now": now,
                },
            )
    return ids


@pytest.mark.parametrize("action", ["confirm", "requeue", "discard", "recheck", "correct"])
async def test_each_action_from_each_state(site, clock, action):
    client, db, _, point_id = site
    ids = insert_rows(db, point_id, clock.now())
    outcomes = {}
    for key, submission_id in ids.items():
        status = client.post(f"{API}/{submission_id}/{action}", headers=ADMIN, json=BODIES[action]).status_code
        outcomes[key] = (status, *check_of(db, submission_id))
    unchanged = {(state, check): (409, state, "C1" if state == "accepted" else None, check) for state, check in ROWS}
    assert outcomes == {**unchanged, **{key: (200, *after) for key, after in ALLOWED[action].items()}}


REFUSALS = [
    (
        "requeue",
        ("accepted", "confirmed"),
        "el envío {id} está en estado accepted; reenviar solo se permite a un envío en estado unrecoverable,"
        " needs_review",
    ),
    (
        "confirm",
        ("sending", None),
        "el envío {id} está en estado sending; confirmar solo se permite a un envío en"
        " estado needs_review (o accepted con check_result not_found o mismatch)",
    ),
    (
        "confirm",
        ("accepted", "confirmed"),
        "el envío {id} está en estado accepted con check_result confirmed;"
        " confirmar solo se permite a un envío en estado needs_review (o accepted con check_result not_found o"
        " mismatch)",
    ),
    (
        "recheck",
        ("needs_review", None),
        "el envío {id} está en estado needs_review con check_result None; volver a"
        " consultar solo se permite a un envío en estado accepted con check_result not_found o mismatch",
    ),
    (
        "discard",
        ("accepted", "not_found"),
        "el envío {id} está en estado accepted; descartar solo se permite a un"
        " envío en estado review, needs_review, no_data",
    ),
    (
        "discard",
        ("rejected", None),
        "el envío {id} está en estado rejected: sus valores pasaron los controles de"
        " plausibilidad, y una medición plausible se declara como se midió, nunca se descarta (corríjala con un motivo"
        " si está mal); descartar solo se permite a un envío en estado review, needs_review, no_data",
    ),
]


async def test_a_refusal_names_the_state_and_what_is_allowed(site, clock):
    client, db, _, point_id = site
    ids = insert_rows(db, point_id, clock.now())
    answers = [
        client.post(f"{API}/{ids[row]}/{action}", headers=ADMIN, json=BODIES[action]).json()["error"]
        for action, row, _ in REFUSALS
    ]
    assert answers == [
        {"status": 409, "code": "conflict", "message": message.format(id=ids[row])} for _, row, message in REFUSALS
    ]


# --- needs_review ---------------------------------------------------------------------------


async def test_confirm_keeps_the_comprobante_and_the_next_check_confirms_it(site, clock, database_url):
    client, db, dga, _ = site
    submission_id, comprobante = await needs_review(site, clock, database_url)
    answer = client.post(
        f"{API}/{submission_id}/confirm",
        headers=ADMIN,
        json={"comprobante": f"  {comprobante} ", "reason": "seen in SNIA"},
    ).json()
    assert (
        answer["state"],
        answer["comprobante"],
        answer["check_result"],
        answer["reviewed_by"],
        answer["review_reason"],
    ) == ("accepted", comprobante, None, "admin", "seen in SNIA")
    clock.advance(60)
    await one_pass(db, clock, database_url)
    assert (gets(dga), len(posts(dga))) == ([comprobante], 1)
    assert check_of(db, submission_id) == ("accepted", comprobante, "confirmed")


async def test_a_decision_is_in_the_compliance_log_and_the_audit_trail(site, clock, database_url):
    client, db, _, _ = site
    submission_id, comprobante = await needs_review(site, clock, database_url)
    client.post(f"{API}/{submission_id}/confirm", headers=ADMIN, json={"comprobante": comprobante, "reason": "SNIA"})
    (event,) = client.get("/api/v1/compliance/log", headers=ADMIN, params={"kind": "review.confirm"}).json()["items"]
    assert {k: event[k] for k in ("submission_id", "actor", "message", "detail", "alert")} == {
        "submission_id": submission_id,
        "actor": "admin",
        "alert": False,
        "message": "OB-0601-444 medición 2026-11-28T12:00:00+00:00 pasa a accepted por decisión de admin: SNIA",
        "detail": {"comprobante": comprobante, "reason": "SNIA", "state": "accepted"},
    }
    with db.connect() as conn:
        audit = conn.fetchone(
            "SELECT actor, action, subject, detail FROM audit_log WHERE action LIKE 'compliance.review%'"
        )
    assert {**audit, "detail": json.loads(audit["detail"])} == {
        "actor": "admin",
        "action": "compliance.review.confirm",
        "subject": "point:OB-0601-444",
        "detail": {
            "submission": submission_id,
            "slot": "2026-11-28T12:00:00+00:00",
            "reason": "SNIA",
            "state": "accepted",
            "comprobante": comprobante,
        },
    }


async def test_requeue_sends_once_and_keeps_the_ya_existe_comprobante(site, clock, database_url):
    client, db, dga, _ = site
    submission_id, comprobante = await needs_review(site, clock, database_url)
    answer = client.post(f"{API}/{submission_id}/requeue", headers=ADMIN, json={"reason": "SNIA shows nothing"})
    assert (answer.status_code, answer.json()["state"]) == (200, "pending")
    for _ in range(2):
        clock.advance(60)
        await one_pass(db, clock, database_url)
    assert len(posts(dga)) == 2
    assert ledger(db) == [(SLOT.isoformat(), "accepted", comprobante)]


async def test_an_accepted_slot_is_never_requeued(site, clock, database_url):
    client, db, dga, _ = site
    submission_id = await start(site, clock, database_url)
    answer = client.post(f"{API}/{submission_id}/requeue", headers=ADMIN, json={"reason": "send it again"})
    clock.advance(24 * 3600)
    await one_pass(db, clock, database_url)
    assert (answer.status_code, len(posts(dga)), ledger(db)[0][1]) == (409, 1, "accepted")


# --- accepted, GET check found nothing ----------------------------------------------------------


async def test_recheck_makes_one_get_on_the_next_pass(site, clock, database_url):
    client, db, dga, _ = site
    submission_id, comprobante = await check_not_found(site, clock, database_url)
    answer = client.post(f"{API}/{submission_id}/recheck", headers=ADMIN, json={"reason": "SNIA shows it now"})
    assert (answer.json()["state"], answer.json()["check_result"]) == ("accepted", None)
    for _ in range(2):
        clock.advance(60)
        await one_pass(db, clock, database_url)
    assert (gets(dga), len(posts(dga))) == ([comprobante, comprobante], 1)
    assert check_of(db, submission_id) == ("accepted", comprobante, "confirmed")


async def test_recheck_needs_no_body(site, clock, database_url):
    client, _, _, _ = site
    submission_id, _ = await check_not_found(site, clock, database_url)
    answer = client.post(f"{API}/{submission_id}/recheck", headers=ADMIN)
    assert (answer.status_code, answer.json()["review_reason"]) == (200, None)


async def test_a_corrected_comprobante_is_checked_by_get(site, clock, database_url):
    client, db, dga, _ = site
    submission_id, comprobante = await needs_review(site, clock, database_url)
    client.post(f"{API}/{submission_id}/confirm", headers=ADMIN, json={"comprobante": "TYPO", "reason": "SNIA"})
    clock.advance(60)
    await one_pass(db, clock, database_url)
    not_found = check_of(db, submission_id)
    client.post(f"{API}/{submission_id}/confirm", headers=ADMIN, json={"comprobante": comprobante, "reason": "typo"})
    clock.advance(60)
    await one_pass(db, clock, database_url)
    assert (not_found, check_of(db, submission_id)) == (
        ("accepted", "TYPO", "not_found"),
        ("accepted", comprobante, "confirmed"),
    )
    assert (gets(dga), len(posts(dga))) == (["TYPO", comprobante], 1)


async def test_a_person_confirmed_comprobante_is_not_asked_again(site, clock, database_url):
    client, db, dga, _ = site
    submission_id, comprobante = await check_not_found(site, clock, database_url)
    client.post(f"{API}/{submission_id}/confirm", headers=ADMIN, json={"comprobante": comprobante, "reason": "SNIA"})
    clock.advance(24 * 3600)
    await one_pass(db, clock, database_url)
    assert (gets(dga), check_of(db, submission_id)) == ([comprobante], ("accepted", comprobante, "person_confirmed"))


# --- the alerts of held submissions ------------------------------------------------------------

HELD = {"submission.needs_review": needs_review, "submission.check_not_found": check_not_found}


@pytest.mark.parametrize(
    ("kind", "action"),
    [
        ("submission.needs_review", "confirm"),
        ("submission.needs_review", "requeue"),
        ("submission.needs_review", "discard"),
        ("submission.check_not_found", "recheck"),
        ("submission.check_not_found", "confirm"),
    ],
)
async def test_the_alert_of_a_held_submission_clears_after_the_decision(site, clock, database_url, kind, action):
    client, db, _, _ = site
    submission_id, comprobante = await HELD[kind](site, clock, database_url)
    evaluate_timer(db, clock.now(), regulators=labels())
    before = alert_status(db, kind)
    decision = {**BODIES[action], "comprobante": comprobante} if action == "confirm" else BODIES[action]
    assert client.post(f"{API}/{submission_id}/{action}", headers=ADMIN, json=decision).status_code == 200
    clock.advance(30)
    evaluate_timer(db, clock.now(), regulators=labels())
    assert (before, alert_status(db, kind)) == (["open"], ["cleared"])


# --- who and what -------------------------------------------------------------------------------


async def test_only_an_administrator_decides(site, clock):
    client, db, _, point_id = site
    submission_id = insert_rows(db, point_id, clock.now())[("needs_review", None)]
    answers = {
        action: client.post(f"{API}/{submission_id}/{action}", headers=ANA, json=body).status_code
        for action, body in BODIES.items()
    }
    assert (answers, check_of(db, submission_id)) == (
        {"confirm": 403, "requeue": 403, "discard": 403, "recheck": 403, "correct": 403},
        ("needs_review", None, None),
    )


BAD_DECISIONS = [
    ("confirm", {"comprobante": "C1"}, "body.reason: falta este campo"),
    ("confirm", {"comprobante": "C 1", "reason": "SNIA"}, "body.comprobante: no tiene la forma esperada (^\\S+$)"),
    ("confirm", {"comprobante": "  ", "reason": "SNIA"}, "body.comprobante: debe tener al menos 1 carácter(es)"),
    ("requeue", {}, "body.reason: falta este campo"),
    ("requeue", {"reason": "  "}, "body.reason: debe tener al menos 1 carácter(es)"),
    ("recheck", {"why": "x"}, "body.why: campo desconocido"),
]


async def test_bad_decisions_are_refused_and_change_nothing(site, clock):
    client, db, _, point_id = site
    submission_id = insert_rows(db, point_id, clock.now())[("needs_review", None)]
    answers = [
        client.post(f"{API}/{submission_id}/{action}", headers=ADMIN, json=body) for action, body, _ in BAD_DECISIONS
    ]
    assert [(a.status_code, a.json()["error"]["message"]) for a in answers] == [(422, m) for _, _, m in BAD_DECISIONS]
    assert check_of(db, submission_id) == ("needs_review", None, None)


async def test_an_unknown_submission_is_404(site):
    answer = site[0].post(f"{API}/999/requeue", headers=ADMIN, json={"reason": "x"})
    assert answer.json()["error"]["message"] == "no hay un envío 999"
