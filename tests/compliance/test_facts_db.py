"""A submission's ledger facts follow its state in the transaction that moves it (SQLite and
PostgreSQL), and the alert timer's summary of them (central reads these, never the ledger)."""

from __future__ import annotations

from datetime import timedelta

from central.db import Database
from central.telemetry.alerts.compliance_facts import all_submission_snapshots
from central.telemetry.alerts.state import SubmissionSnapshot
from compliance.dga import NAME
from compliance.ledger import Event, EventKind, transition
from compliance.ledger_store import (
    finish_attempt,
    insert_submission,
    record_reply,
    start_attempt,
    submission,
)
from compliance.outcome import Outcome, OutcomeKind
from compliance.registry import labels
from compliance.transport import RawReply
from tests.compliance.worker_support import seed, utc

NOW = utc("2026-11-28T13:10:00")
SLOT = utc("2026-11-28T12:00:00")


def facts(db: Database) -> list[tuple[str, bool, str | None]]:
    with db.connect() as conn:
        rows = conn.fetchall("SELECT kind, cleared_at IS NULL AS open, message FROM compliance_facts ORDER BY id")
    return [(row["kind"], bool(row["open"]), row["message"]) for row in rows]


def send(db: Database, submission_id: int, outcome: Outcome, error: str | None, at_minutes: int) -> None:
    now = NOW + timedelta(minutes=at_minutes)
    with db.transaction() as conn:
        attempt = start_attempt(conn, submission(conn, submission_id), "send", "w1", {}, now)
        finish_attempt(
            conn,
            attempt,
            RawReply(None, None, 1.0, error),
            now,
            outcome=outcome.kind.value,
            comprobante=outcome.comprobante,
        )
        record_reply(conn, submission(conn, submission_id), outcome, now)


def test_a_slot_is_unsettled_then_failing_with_its_newest_error_then_cleared_once_accepted(db: Database) -> None:
    point_id = seed(db, NOW)
    with db.transaction() as conn:
        submission_id = insert_submission(
            conn,
            point_id,
            NAME,
            SLOT,
            "live",
            transition(None, Event(EventKind.READY), NOW),
            NOW,
            values=None,
            measurement=None,
            reasons=[],
        )
    assert facts(db) == [("ledger.unsettled", True, None)]
    retry = Outcome(OutcomeKind.RETRY, answered=False, detail="sin respuesta")
    send(db, submission_id, retry, "tiempo de espera agotado tras 15 s", 0)
    send(db, submission_id, retry, "ConnectionRefused", 5)
    # while a resend is in flight the slot is not failing (as the ledger says): a fact per failing spell
    assert facts(db) == [
        ("ledger.unsettled", True, None),
        ("ledger.failing", False, "tiempo de espera agotado tras 15 s"),
        ("ledger.failing", True, "ConnectionRefused"),
    ]
    with db.connect() as conn:  # what the alert timer makes of them: failing since the first send
        assert all_submission_snapshots(conn, NOW + timedelta(minutes=6), labels()) == {
            point_id: [
                SubmissionSnapshot(
                    regulator=NAME,
                    spoken="la DGA",
                    oldest_pending_due=SLOT,
                    failing_since=NOW,
                    last_error="ConnectionRefused",
                    unrecoverable=0,
                )
            ]
        }
    send(db, submission_id, Outcome(OutcomeKind.ACCEPTED, "C-1"), None, 10)
    assert facts(db) == [
        ("ledger.unsettled", False, None),
        ("ledger.failing", False, "tiempo de espera agotado tras 15 s"),
        ("ledger.failing", False, "ConnectionRefused"),
    ]
    with db.connect() as conn:  # nothing open: a snapshot that clears the pair's alerts
        assert all_submission_snapshots(conn, NOW + timedelta(minutes=11), labels()) == {
            point_id: [
                SubmissionSnapshot(
                    regulator=NAME,
                    spoken="la DGA",
                    oldest_pending_due=None,
                    failing_since=None,
                    last_error=None,
                    unrecoverable=0,
                )
            ]
        }
