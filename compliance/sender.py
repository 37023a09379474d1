"""The lease → claim → send loop every regulator's live sending runs (the regulator supplies
how to pick the next slot and how to send one).

A work is sent by one worker at a time: the worker holds the work's lease
(:func:`~compliance.ledger_store.take_lease`) for the whole loop and renews it before each
claim, so a second replica moves on to other works; each slot is claimed before its attempt
is committed, and the attempt is committed before the request leaves
(:func:`~compliance.ledger_store.start_attempt`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from central.db import Connection, Database
from compliance.config_store import block_work
from compliance.events import Severity, raise_compliance_alert, record_event
from compliance.ledger import Transition
from compliance.ledger_store import drop_lease, in_transaction, take_lease
from compliance.outcome import Outcome, OutcomeKind
from compliance.worker_actions import Action

Row = dict[str, Any]


@asynccontextmanager
async def work_lease(
    db: Database, point_id: int, regulator: str, worker: str, now: datetime, until: datetime
) -> AsyncIterator[bool]:
    """Hold the work's lease while the block runs (``False``: another worker holds it, nothing to
    do); it is dropped afterwards, also when the block fails."""
    held = await in_transaction(db, take_lease, point_id, regulator, worker, now, until)
    try:
        yield held
    finally:
        if held:
            await in_transaction(db, drop_lease, point_id, regulator, worker)


def stops_the_loop(action: Action) -> bool:
    """After refused credentials nothing else of the work can go; a slot that cannot be formatted
    stays claimable, so claiming on would pick it again at once."""
    return action.state == "unrecoverable" or action.action == "error"


async def send_claimed(
    db: Database, next_claim: Callable[[Connection], Row | None], send: Callable[[Row], Awaitable[Action]]
) -> list[Action]:
    """Claim and send one slot after another (``next_claim`` runs in its own transaction and
    returns the claimed row, or ``None`` when nothing is due or the pacing says wait)."""
    actions: list[Action] = []
    while (row := await in_transaction(db, next_claim)) is not None:
        actions.append(await send(row))
        if stops_the_loop(actions[-1]):
            break
    return actions


def log_reply(
    conn: Connection,
    row: Row,
    moved: Transition,
    outcome: Outcome,
    now: datetime,
    *,
    text: str,
    severity: Severity,
    blocked: str,
    **detail: Any,
) -> None:
    """A regulator's reply to the send of ``row``, in the compliance log as ``submission.<state>``
    saying ``text`` (a reply that leaves the slot to a person is an alert); after an unrecoverable
    one the work is blocked and a person alerted with ``blocked``, what to correct before it sends
    again."""
    point_id, regulator, submission_id = row["point_id"], row["regulator"], row["id"]
    record_event(
        conn,
        now,
        f"submission.{moved.state.value}",
        text,
        point_id=point_id,
        regulator=regulator,
        submission_id=submission_id,
        severity=severity,
        alert=outcome.kind is OutcomeKind.NEEDS_REVIEW,
        **detail,
    )
    if outcome.kind is OutcomeKind.UNRECOVERABLE:
        block_work(conn, point_id, regulator, outcome.detail)
        raise_compliance_alert(
            conn, point_id, "work.blocked", blocked, now, regulator=regulator, submission_id=submission_id
        )
