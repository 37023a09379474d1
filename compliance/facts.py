"""The facts compliance publishes for alerts, in the table it owns (``compliance_facts``).

An event a person must act on (a slot held, a check mismatch, a work blocked...) is
published as an open fact in the transaction that logged it (:func:`publish`, called by
:func:`compliance.events.record_event`). Whenever the ledger or a configuration changes, the
point's open facts are judged again (:func:`settle`, same transaction) and those whose
condition ended are cleared. Each submission also keeps its ledger facts in step with its
state (:func:`sync_ledger`, called on every insert and move): ``ledger.unsettled``,
``ledger.refused``, ``ledger.failing``. The alert timer in ``central`` reads open facts only;
it never derives ledger states from compliance's tables.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NamedTuple

from central.db import Connection

ONE_OFF = timedelta(hours=24)  # a fact about no submission (and no work block) holds this long
BLOCKED = "work.blocked"
HELD = "submission.held"
SETTLED = ("accepted", "discarded", "shadowed", "no_data")
FAILING = ("rejected", "retry_scheduled")
UNSETTLED, REFUSED, FAILING_NOW = "ledger.unsettled", "ledger.refused", "ledger.failing"
_LEDGER_KINDS = f"'{UNSETTLED}', '{REFUSED}', '{FAILING_NOW}'"


class FactState(NamedTuple):
    """An open fact with what the ledger and the configuration say about it now."""

    kind: str
    raised_at: datetime
    blocked: bool | None  # the work's configuration for that regulator is blocked (None: none left)
    state: str | None  # the submission's state (None: the fact is about no submission)
    check_result: str | None
    reviewed_at: datetime | None
    last_attempt_at: datetime | None


def still_holds(fact: FactState) -> bool:
    """Whether a person still has something to do about ``fact`` (pure).

    - ``work.blocked``: while the work's configuration stays blocked (new credentials lift it);
    - ``submission.needs_review``: while the submission is still ``needs_review``;
    - ``submission.held`` (a value that cannot be physical): while the slot is still ``review``;
    - any other fact about a submission: until a person reviews the submission after it;
      ``submission.check_not_found`` while the check result stays ``not_found``,
      ``submission.check_mismatch`` (the DGA holds other values) while it stays ``mismatch``;
      the rest (e.g. ``submission.error``, ``submission.late_reply``) until the submission
      is settled or a new send attempt starts;
    - a fact about no submission: until it expires (:data:`ONE_OFF`, kept in the row).
    """
    if fact.kind == BLOCKED:
        return bool(fact.blocked)
    if fact.state is None:
        return True
    if fact.kind == "submission.needs_review":
        return fact.state == "needs_review"
    if fact.kind == HELD:
        return fact.state == "review"
    if fact.reviewed_at is not None and fact.reviewed_at >= fact.raised_at:
        return False
    if fact.kind == "submission.check_not_found":
        return fact.check_result == "not_found" and fact.state != "discarded"
    if fact.kind == "submission.check_mismatch":
        return fact.check_result == "mismatch"
    sent_again = fact.last_attempt_at is not None and fact.last_attempt_at > fact.raised_at
    return fact.state not in SETTLED and not sent_again


def publish(
    conn: Connection,
    now: datetime,
    kind: str,
    message: str,
    *,
    point_id: int,
    regulator: str | None,
    submission_id: int | None,
    slot: datetime | None = None,
    deadline: datetime | None = None,
) -> None:
    """An open fact, in the caller's transaction (the one that logged its event)."""
    expires = now + ONE_OFF if submission_id is None and kind != BLOCKED else None
    conn.execute(
        "INSERT INTO compliance_facts (point_id, regulator, kind, submission_id, slot, message, deadline, raised_at,"
        " expires_at) VALUES (:p, :r, :kind, :s, :slot, :message, :deadline, :now, :expires)",
        {
            "p": point_id,
            "r": regulator,
            "kind": kind,
            "s": submission_id,
            "slot": slot,
            "message": message,
            "deadline": deadline,
            "now": now,
            "expires": expires,
        },
    )


def settle(conn: Connection, now: datetime, point_id: int | None = None) -> int:
    """Clear the open event facts (of ``point_id``, or of every point) whose condition ended; how
    many. Ledger facts follow their submission's state instead (:func:`sync_ledger`)."""
    where = "" if point_id is None else " AND f.point_id = :p"
    rows = conn.fetchall(
        "SELECT f.id, f.kind, f.raised_at, c.blocked, s.state, s.check_result, s.reviewed_at, s.last_attempt_at"
        " FROM compliance_facts f LEFT JOIN compliance_configs c ON c.point_id = f.point_id"
        " AND c.regulator = f.regulator LEFT JOIN compliance_submissions s ON s.id = f.submission_id"
        f" WHERE f.cleared_at IS NULL AND f.kind NOT IN ({_LEDGER_KINDS}){where}",
        {"p": point_id},
    )
    ended = [row["id"] for row in rows if not still_holds(FactState(**{k: v for k, v in row.items() if k != "id"}))]
    if ended:
        conn.execute(
            f"UPDATE compliance_facts SET cleared_at = :now WHERE id IN ({', '.join(map(str, ended))})", {"now": now}
        )
    return len(ended)


def _wanted(state: str) -> dict[str, bool]:
    return {UNSETTLED: state not in SETTLED, REFUSED: state == "unrecoverable", FAILING_NOW: state in FAILING}


def _sends(conn: Connection, submission_id: int) -> dict[str, Any]:
    """The submission's first send, and its newest send with an error text (that text and start)."""
    first = conn.fetchval(
        "SELECT MIN(started_at) FROM compliance_attempts WHERE submission_id = :s AND kind = 'send'",
        {"s": submission_id},
    )
    newest = conn.fetchone(
        "SELECT started_at, COALESCE(error, message) AS error FROM compliance_attempts WHERE submission_id = :s"
        " AND kind = 'send' AND COALESCE(error, message) IS NOT NULL ORDER BY started_at DESC, id DESC LIMIT 1",
        {"s": submission_id},
    )
    return {"first": first, "error": newest and newest["error"], "errored_at": newest and newest["started_at"]}


def sync_ledger(conn: Connection, submission_id: int, now: datetime) -> None:
    """Open or clear the submission's ledger facts to match its state (caller's transaction).

    A failing submission's fact follows its newest error; one never sent has no failing fact.
    """
    row = conn.fetchone(
        "SELECT id, point_id, regulator, slot, state FROM compliance_submissions WHERE id = :s", {"s": submission_id}
    )
    if row is None:
        return
    opened = {
        fact["kind"]: fact["id"]
        for fact in conn.fetchall(
            "SELECT id, kind FROM compliance_facts WHERE submission_id = :s AND cleared_at IS NULL"
            f" AND kind IN ({_LEDGER_KINDS})",
            {"s": submission_id},
        )
    }
    for kind, wanted in _wanted(row["state"]).items():
        if not wanted and kind in opened:
            conn.execute(
                "UPDATE compliance_facts SET cleared_at = :now WHERE id = :id", {"now": now, "id": opened[kind]}
            )
        elif wanted and kind == FAILING_NOW:
            _sync_failing(conn, row, opened.get(kind), now)
        elif wanted and kind not in opened:
            _open_ledger_fact(conn, row, kind, now, None, None)


def _sync_failing(conn: Connection, row: dict[str, Any], fact_id: int | None, now: datetime) -> None:
    sends = _sends(conn, row["id"])
    if sends["first"] is None:
        return
    if fact_id is None:
        _open_ledger_fact(conn, row, FAILING_NOW, sends["first"], sends["error"], sends["errored_at"])
    else:
        conn.execute(
            "UPDATE compliance_facts SET message = :m, updated_at = :u WHERE id = :id",
            {"m": sends["error"], "u": sends["errored_at"], "id": fact_id},
        )


def _open_ledger_fact(
    conn: Connection,
    row: dict[str, Any],
    kind: str,
    raised_at: datetime,
    message: str | None,
    updated_at: datetime | None,
) -> None:
    conn.execute(
        "INSERT INTO compliance_facts (point_id, regulator, kind, submission_id, slot, message, raised_at, updated_at)"
        " VALUES (:p, :r, :kind, :s, :slot, :m, :raised, :updated)",
        {
            "p": row["point_id"],
            "r": row["regulator"],
            "kind": kind,
            "s": row["id"],
            "slot": row["slot"],
            "m": message,
            "raised": raised_at,
            "updated": updated_at,
        },
    )
