"""The submission ledger in the database: rows, claims, attempts, transitions.

Every state change goes through :func:`compliance.ledger.transition` and is written with
``WHERE state = <the state it was computed from>``, so a change computed from a stale read
changes nothing (:class:`StaleSubmission`) instead of overwriting someone else's.
A claim (``claimed_by``/``claimed_until``) is taken with one conditional UPDATE, so two
replicas never send the same slot; on PostgreSQL the candidate row is locked with
``FOR UPDATE SKIP LOCKED`` so a second replica moves on to another row at once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from central.db import Connection, Database
from compliance.events import record_event
from compliance.facts import settle, sync_ledger
from compliance.ledger import SENDABLE, Event, EventKind, State, Transition, transition
from compliance.outcome import Outcome
from compliance.transport import RawReply

_SENDABLE = ", ".join(f"'{state.value}'" for state in sorted(SENDABLE))


T = TypeVar("T")


async def in_transaction(db: Database, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn(conn, *args, **kwargs)`` in one transaction on a worker thread (the database API is sync)."""

    def run() -> T:
        with db.transaction() as conn:
            return fn(conn, *args, **kwargs)

    return await asyncio.to_thread(run)


class StaleSubmission(RuntimeError):
    """The submission changed state since it was read; nothing was written."""


def submission(conn: Connection, submission_id: int) -> dict[str, Any] | None:
    return conn.fetchone("SELECT * FROM compliance_submissions WHERE id = :id", {"id": submission_id})


def known_slots(conn: Connection, point_id: int, regulator: str, since: datetime) -> set[datetime]:
    rows = conn.fetchall(
        "SELECT slot FROM compliance_submissions WHERE point_id = :p AND regulator = :r AND slot >= :since",
        {"p": point_id, "r": regulator, "since": since},
    )
    return {row["slot"] for row in rows}


class Evaluated(Protocol):
    """A slot's evaluation, whichever regulator made it: the ledger event it leads to, the values, the
    measurement it would send (``None``: none) and the reasons to hold it."""

    @property
    def event(self) -> EventKind: ...

    @property
    def values(self) -> dict[str, str | None] | None: ...

    @property
    def measurement(self) -> Any | None: ...

    @property
    def reasons(self) -> list[str]: ...


def insert_evaluated(
    conn: Connection, point_id: int, regulator: str, slot: datetime, mode: str, found: Evaluated, now: datetime
) -> tuple[Transition, int | None]:
    """A new ledger row for ``slot`` in the state its first evaluation puts it in, and the row's id
    (``None`` if the slot already has one)."""
    moved = transition(None, Event(found.event), now)
    values, measurement, reasons = found.values, found.measurement, found.reasons
    created = insert_submission(
        conn, point_id, regulator, slot, mode, moved, now, values=values, measurement=measurement, reasons=reasons
    )
    return moved, created


def insert_submission(
    conn: Connection,
    point_id: int,
    regulator: str,
    slot: datetime,
    mode: str,
    moved: Transition,
    now: datetime,
    *,
    values: dict[str, str | None] | None,
    measurement: Any | None,
    reasons: list[str],
) -> int | None:
    """A new ledger row in the state ``moved`` computed; ``None`` if the slot already has one."""
    row = conn.fetchone(
        "INSERT INTO compliance_submissions (point_id, regulator, slot, mode, state, values_json, measurement,"
        " reasons, next_attempt_at, note, created_at, updated_at) VALUES (:p, :r, :slot, :mode, :state, :values,"
        " :measurement, :reasons, :next, :note, :now, :now) ON CONFLICT (point_id, regulator, slot) DO NOTHING"
        " RETURNING id",
        {
            "p": point_id,
            "r": regulator,
            "slot": slot,
            "mode": mode,
            "state": moved.state.value,
            "values": _json(values),
            "measurement": _json(measurement),
            "reasons": json.dumps(reasons),
            "next": moved.next_attempt_at,
            "note": moved.note,
            "now": now,
        },
    )
    if row is None:
        return None
    sync_ledger(conn, row["id"], now)
    return row["id"]


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def move(conn: Connection, row: dict[str, Any], event: Event, now: datetime, **columns: Any) -> Transition:
    """Apply ``event`` to the submission ``row`` (as read) and store the result with ``columns``.

    Raises :class:`~compliance.ledger.IllegalTransition` or :class:`StaleSubmission`.
    """
    moved = transition(State(row["state"]), event, now)
    values = {
        "state": moved.state.value,
        "next_attempt_at": moved.next_attempt_at,
        "note": moved.note,
        "updated_at": now,
        **columns,
    }
    if moved.comprobante is not None:
        values["comprobante"] = moved.comprobante
    if moved.state is State.ACCEPTED:
        values["accepted_at"] = now
    assignments = ", ".join(f"{column} = :{column}" for column in values)
    changed = conn.execute(
        f"UPDATE compliance_submissions SET {assignments} WHERE id = :id AND state = :old",
        {**values, "id": row["id"], "old": row["state"]},
    )
    if changed != 1:
        raise StaleSubmission(f"submission {row['id']} is no longer {row['state']}")
    sync_ledger(conn, row["id"], now)
    settle(conn, now, row["point_id"])
    return moved


def due_pending(conn: Connection, point_id: int, regulator: str, now: datetime) -> list[dict[str, Any]]:
    """A work's pending slots whose next attempt is due by ``now``, oldest first (what shadow mode logs)."""
    return conn.fetchall(
        "SELECT * FROM compliance_submissions WHERE point_id = :p AND regulator = :r AND state = 'pending'"
        " AND next_attempt_at <= :now ORDER BY slot",
        {"p": point_id, "r": regulator, "now": now},
    )


def claim_next(
    conn: Connection,
    point_id: int,
    regulator: str,
    worker: str,
    now: datetime,
    until: datetime,
) -> dict[str, Any] | None:
    """Claim the oldest sendable slot of a work due by ``now``, or ``None`` when there is none free."""
    lock = " FOR UPDATE SKIP LOCKED" if conn.dialect == "postgresql" else ""
    free = "(claimed_until IS NULL OR claimed_until < :now)"
    return conn.fetchone(
        f"UPDATE compliance_submissions SET claimed_by = :worker, claimed_until = :until WHERE id = ("
        f" SELECT id FROM compliance_submissions WHERE point_id = :p AND regulator = :r AND state IN ({_SENDABLE})"
        f" AND next_attempt_at <= :now AND {free} ORDER BY slot LIMIT 1{lock})"
        f" AND state IN ({_SENDABLE}) AND {free} RETURNING *",
        {"worker": worker, "until": until, "p": point_id, "r": regulator, "now": now},
    )


def send_candidates(
    conn: Connection,
    point_id: int,
    regulator: str,
    now: datetime,
    current_since: datetime,
) -> list[dict[str, Any]]:
    """A work's unclaimed slots that may be sent now (id and slot), oldest first: the oldest
    one and every one from ``current_since`` on (what :func:`compliance.ledger.choose_send`
    picks from)."""
    sendable = (
        f"point_id = :p AND regulator = :r AND state IN ({_SENDABLE}) AND next_attempt_at <= :now"
        " AND (claimed_until IS NULL OR claimed_until < :now)"
    )
    return conn.fetchall(
        f"SELECT id, slot FROM compliance_submissions WHERE {sendable} AND (slot >= :since OR slot ="
        f" (SELECT MIN(slot) FROM compliance_submissions WHERE {sendable})) ORDER BY slot",
        {"p": point_id, "r": regulator, "now": now, "since": current_since},
    )


def claim(conn: Connection, submission_id: int, worker: str, now: datetime, until: datetime) -> dict[str, Any] | None:
    """Claim one sendable slot; ``None`` if it was claimed or moved on meanwhile."""
    return conn.fetchone(
        f"UPDATE compliance_submissions SET claimed_by = :worker, claimed_until = :until WHERE id = :id"
        f" AND state IN ({_SENDABLE}) AND (claimed_until IS NULL OR claimed_until < :now) RETURNING *",
        {"worker": worker, "until": until, "id": submission_id, "now": now},
    )


def release(conn: Connection, submission_id: int, worker: str) -> None:
    conn.execute(
        "UPDATE compliance_submissions SET claimed_by = NULL, claimed_until = NULL"
        " WHERE id = :id AND claimed_by = :worker",
        {"id": submission_id, "worker": worker},
    )


def start_attempt(
    conn: Connection,
    row: dict[str, Any],
    kind: str,
    worker: str,
    request: dict[str, Any],
    now: datetime,
    *,
    measurement: Any | None = None,
) -> int:
    """Record an attempt BEFORE it is made (commit before the request leaves); a send moves the
    submission to ``sending``."""
    if kind == "send":
        extra = {"measurement": _json(measurement)} if measurement is not None else {}
        move(
            conn,
            row,
            Event(EventKind.SEND_STARTED),
            now,
            attempt_count=row["attempt_count"] + 1,
            last_attempt_at=now,
            **extra,
        )
    return conn.fetchval(
        "INSERT INTO compliance_attempts (submission_id, kind, worker, started_at, request)"
        " VALUES (:s, :kind, :worker, :now, :request) RETURNING id",
        {"s": row["id"], "kind": kind, "worker": worker, "now": now, "request": json.dumps(request)},
    )


def finish_attempt(
    conn: Connection,
    attempt_id: int,
    raw: RawReply,
    now: datetime,
    *,
    outcome: str,
    comprobante: str | None,
) -> None:
    """Record what came back (or that nothing did) for an attempt."""
    body = raw.body_json if isinstance(raw.body_json, dict) else {}
    message = body.get("message") if isinstance(body.get("message"), str) else (raw.body_text[:1000] or None)
    conn.execute(
        "UPDATE compliance_attempts SET finished_at = :now, http_status = :http, regulator_status = :status,"
        " message = :message, comprobante = :comprobante, outcome = :outcome, duration_s = :duration,"
        " error = :error WHERE id = :id",
        {
            "now": now,
            "http": raw.http_status,
            "status": _text(body.get("status")),
            "message": message,
            "comprobante": comprobante,
            "outcome": outcome,
            "duration": raw.duration_s,
            "error": raw.error,
            "id": attempt_id,
        },
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def fill_gap(conn: Connection, row: dict[str, Any], found: Evaluated, now: datetime) -> Transition:
    """A ``no_data`` slot whose readings came late, moved on by its new evaluation (ready or held)."""
    return move(
        conn,
        row,
        Event(found.event),
        now,
        values_json=json.dumps(found.values),
        measurement=None if found.measurement is None else json.dumps(found.measurement),
        reasons=json.dumps(found.reasons),
    )


def record_reply(
    conn: Connection, row: dict[str, Any], outcome: Outcome, now: datetime, retry_at: datetime | None = None
) -> Transition:
    """The reply to a send: the submission leaves ``sending`` and its claim is released;
    ``retry_at``: the regulator's next attempt after a failure, else the ledger's rule."""
    return move(conn, row, Event(EventKind.REPLY, outcome, retry_at=retry_at), now, claimed_by=None, claimed_until=None)


def orphaned_in_flight(conn: Connection, regulator: str, now: datetime) -> list[dict[str, Any]]:
    """Submissions left ``sending`` by a sender whose claim ran out (it died or hung mid-send)."""
    return conn.fetchall(
        "SELECT * FROM compliance_submissions WHERE regulator = :r AND state = 'sending'"
        " AND (claimed_until IS NULL OR claimed_until < :now) ORDER BY slot",
        {"r": regulator, "now": now},
    )


def last_attempt_at(conn: Connection, point_id: int, regulator: str) -> datetime | None:
    return conn.fetchval(
        "SELECT last_attempt_at FROM compliance_submissions WHERE point_id = :p AND regulator = :r"
        " AND last_attempt_at IS NOT NULL ORDER BY last_attempt_at DESC LIMIT 1",
        {"p": point_id, "r": regulator},
    )


def last_accepted(conn: Connection, point_id: int, regulator: str, before: datetime) -> dict[str, Any] | None:
    """The latest accepted slot of the work before ``before`` (for the totalizer check)."""
    return conn.fetchone(
        "SELECT slot, values_json, corrected_values FROM compliance_submissions WHERE point_id = :p"
        " AND regulator = :r AND state = 'accepted' AND slot < :before ORDER BY slot DESC LIMIT 1",
        {"p": point_id, "r": regulator, "before": before},
    )


def unchecked_accepted(conn: Connection, point_id: int, regulator: str, retry_before: datetime) -> list[dict[str, Any]]:
    """Accepted slots whose comprobante the GET check has not confirmed yet (an unanswered
    check is asked again once ``checked_at`` is before ``retry_before``)."""
    return conn.fetchall(
        "SELECT * FROM compliance_submissions WHERE point_id = :p AND regulator = :r AND state = 'accepted'"
        " AND comprobante IS NOT NULL AND (check_result IS NULL OR (check_result = 'unknown'"
        " AND checked_at <= :retry)) ORDER BY slot",
        {"p": point_id, "r": regulator, "retry": retry_before},
    )


def requeue_refused(conn: Connection, point_id: int, regulator: str, actor: str, now: datetime) -> int:
    """Slots refused for the informant go back to the queue once a person fixed the credentials."""
    rows = conn.fetchall(
        "SELECT * FROM compliance_submissions WHERE point_id = :p AND regulator = :r AND state = 'unrecoverable'",
        {"p": point_id, "r": regulator},
    )
    for row in rows:
        move(conn, row, Event(EventKind.PERSON_REQUEUE), now)
    if rows:
        record_event(
            conn,
            now,
            "submission.requeued",
            f"{len(rows)} medición(es) rechazada(s) por el informante vuelven a la cola tras un cambio de credenciales",
            point_id=point_id,
            regulator=regulator,
            actor=actor,
        )
    return len(rows)


def hold_work(conn: Connection, point_id: int, regulator: str) -> None:
    """Take turns on a work's slots until the transaction ends: on PostgreSQL its configuration
    row is locked (SQLite runs one writing transaction at a time). Creating slots and
    re-evaluating gaps take it first, so a gap that another replica is still writing from an
    older read of the readings is re-evaluated once it is committed, never skipped."""
    if conn.dialect == "postgresql":
        conn.execute(
            "SELECT point_id FROM compliance_configs WHERE point_id = :p AND regulator = :r FOR UPDATE",
            {"p": point_id, "r": regulator},
        )


def take_lease(conn: Connection, point_id: int, regulator: str, worker: str, now: datetime, until: datetime) -> bool:
    """Hold (or renew) the right to send for one work; ``False`` while another worker holds it."""
    return (
        conn.execute(
            "UPDATE compliance_configs SET lease_by = :worker, lease_until = :until WHERE point_id = :p"
            " AND regulator = :r AND (lease_until IS NULL OR lease_until < :now OR lease_by = :worker)",
            {"worker": worker, "until": until, "p": point_id, "r": regulator, "now": now},
        )
        == 1
    )


def drop_lease(conn: Connection, point_id: int, regulator: str, worker: str) -> None:
    conn.execute(
        "UPDATE compliance_configs SET lease_by = NULL, lease_until = NULL WHERE point_id = :p"
        " AND regulator = :r AND lease_by = :worker",
        {"p": point_id, "r": regulator, "worker": worker},
    )


def record_check(conn: Connection, submission_id: int, result: str, now: datetime) -> None:
    row = conn.fetchone(
        "UPDATE compliance_submissions SET check_result = :result, checked_at = :now,"
        " updated_at = :now WHERE id = :id RETURNING point_id",
        {"result": result, "now": now, "id": submission_id},
    )
    if row is not None:
        settle(conn, now, row["point_id"])


def dangling_attempt(conn: Connection, submission_id: int) -> dict[str, Any] | None:
    """The newest send attempt of a submission if its reply was never recorded."""
    return conn.fetchone(
        "SELECT * FROM compliance_attempts WHERE submission_id = :s AND kind = 'send' AND finished_at IS NULL"
        " ORDER BY id DESC LIMIT 1",
        {"s": submission_id},
    )


INTERRUPTED = "no reply recorded: the sender stopped mid-send"


def close_dangling(conn: Connection, attempt_id: int, now: datetime, error: str = INTERRUPTED) -> None:
    conn.execute(
        "UPDATE compliance_attempts SET finished_at = :now, outcome = 'unknown', error = :error"
        " WHERE id = :id AND finished_at IS NULL",
        {"now": now, "error": error, "id": attempt_id},
    )


def interrupted_sends(conn: Connection, submission_id: int) -> int:
    """How many earlier sends of the submission were in flight when their sender stopped (closed by
    :func:`close_dangling`): the DGA may hold the slot already."""
    return int(
        conn.fetchval(
            "SELECT COUNT(*) FROM compliance_attempts WHERE submission_id = :s AND kind = 'send'"
            " AND outcome = 'unknown' AND error = :error",
            {"s": submission_id, "error": INTERRUPTED},
        )
    )
