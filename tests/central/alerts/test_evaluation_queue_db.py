"""The queue behind inline alert evaluation gathers a fleet's small batches into one evaluation.

Issue 16: one 30-reading batch's evaluation cost mostly its round trips, so the queue lets
the batches that arrive close together share one transaction, and anything that waits for
the queue (``wait_idle``, ``close``, a full queue) ends the gathering at once. The database
is real; :class:`GatedDatabase` only counts the evaluations' transactions and can hold the
next one at its start, so each test knows where the evaluation thread is without sleeping.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from central.db import Connection, Database
from central.telemetry.alerts.evaluation_queue import EvaluationQueue
from central.telemetry.alerts.state import RuleState
from central.telemetry.processing import Processed
from tests.factories import add_point, processed

NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)
WAIT_S = 10.0
FOREVER_S = 3600.0


class GatedDatabase:
    """A real database whose transactions are counted; while ``gate`` is clear, a transaction
    waits at its start (``began`` tells the test it got there)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.transactions = 0
        self.began = threading.Event()
        self.gate = threading.Event()
        self.gate.set()

    @contextmanager
    def transaction(self, **kwargs: Any) -> Iterator[Connection]:
        self.transactions += 1
        self.began.set()
        assert self.gate.wait(WAIT_S), "the test never opened the gate"
        with self._db.transaction(**kwargs) as conn:
            yield conn

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


@pytest.fixture
def point_id(db: Database) -> int:
    with db.transaction() as conn:
        return add_point(conn, "P1", NOW, water_right_lps=12.0)


@pytest.fixture
def gated(db: Database) -> GatedDatabase:
    return GatedDatabase(db)


@pytest.fixture
def new_queue(gated: GatedDatabase) -> Iterator[Callable[..., EvaluationQueue]]:
    """Builds queues on the gated database; each is closed (its thread ended) after the test."""
    queues: list[EvaluationQueue] = []

    def build(**options: Any) -> EvaluationQueue:
        queues.append(EvaluationQueue(gated, **options))
        return queues[-1]

    yield build
    gated.gate.set()
    for queue in queues:
        queue.close(WAIT_S)


def flows(point_id: int, first_minute: int, count: int) -> list[Processed]:
    start = NOW - timedelta(hours=2)
    return [
        processed(point_id, start + timedelta(minutes=m), "flow", 8.0)
        for m in range(first_minute, first_minute + count)
    ]


def newest_evaluated(db: Database) -> list[datetime]:
    """The newest reading each of the point's flow rules has seen."""
    with db.connect() as conn:
        rows = conn.fetchall(
            "SELECT s.state FROM alert_rule_states s JOIN alert_rules r ON r.id = s.rule_id"
            " WHERE r.kind = 'flow_above_right'"
        )
    return [RuleState.model_validate_json(row["state"]).last_ts for row in rows]


def test_batches_arriving_while_it_gathers_share_one_evaluation(
    db: Database, gated: GatedDatabase, new_queue: Callable[..., EvaluationQueue], point_id: int
) -> None:
    queue = new_queue(gather_s=FOREVER_S, gather_readings=90)
    for first in (0, 30, 60):
        queue.submit(flows(point_id, first, 30), NOW)
    assert gated.began.wait(WAIT_S)  # 90 readings gathered: no one had to hurry it
    assert queue.wait_idle(WAIT_S)
    assert (gated.transactions, newest_evaluated(db)) == (1, [NOW - timedelta(hours=2) + timedelta(minutes=89)])


def test_a_lone_batch_is_evaluated_once_the_gathering_ends_with_no_one_waiting(
    db: Database, gated: GatedDatabase, new_queue: Callable[..., EvaluationQueue], point_id: int
) -> None:
    queue = new_queue(gather_s=0.05, gather_readings=1_000_000)
    queue.submit(flows(point_id, 0, 30), NOW)
    assert gated.began.wait(WAIT_S)  # the gathering is bounded: nothing else arrived, nobody hurried it
    assert queue.wait_idle(WAIT_S)
    assert (gated.transactions, newest_evaluated(db)) == (1, [NOW - timedelta(hours=2) + timedelta(minutes=29)])


@pytest.mark.parametrize("end", ["wait_idle", "close"])
def test_waiting_for_the_queue_evaluates_what_it_holds_without_gathering_more(
    db: Database, gated: GatedDatabase, new_queue: Callable[..., EvaluationQueue], point_id: int, end: str
) -> None:
    queue = new_queue(gather_s=FOREVER_S, gather_readings=1_000_000)
    queue.submit(flows(point_id, 0, 30), NOW)
    if end == "wait_idle":
        assert queue.wait_idle(WAIT_S)
    else:
        queue.close(WAIT_S)
    assert (gated.transactions, newest_evaluated(db)) == (1, [NOW - timedelta(hours=2) + timedelta(minutes=29)])


def test_a_full_queue_is_evaluated_at_once_and_the_waiting_batch_gets_in(
    db: Database, gated: GatedDatabase, new_queue: Callable[..., EvaluationQueue], point_id: int
) -> None:
    queue = new_queue(limit=2, gather_s=FOREVER_S, gather_readings=1_000_000)
    queue.submit(flows(point_id, 0, 3), NOW)
    queue.submit(flows(point_id, 3, 3), NOW)
    third = threading.Thread(target=queue.submit, args=(flows(point_id, 6, 3), NOW))
    third.start()
    third.join(WAIT_S)
    assert not third.is_alive()
    assert queue.wait_idle(WAIT_S)
    assert (gated.transactions, newest_evaluated(db)) == (2, [NOW - timedelta(hours=2) + timedelta(minutes=8)])


def test_offer_queues_while_there_is_room_and_refuses_without_waiting_when_full(
    db: Database, gated: GatedDatabase, new_queue: Callable[..., EvaluationQueue], point_id: int
) -> None:
    queue = new_queue(limit=1, gather_s=FOREVER_S, gather_readings=1_000_000)
    gated.gate.clear()
    taken = queue.offer(flows(point_id, 0, 3), NOW)  # full at once: taken for evaluation, held at the gate
    assert gated.began.wait(WAIT_S)
    offers = [taken, queue.offer(flows(point_id, 3, 3), NOW), queue.offer(flows(point_id, 6, 3), NOW)]
    waiting = queue.queued_readings
    gated.gate.set()
    assert queue.wait_idle(WAIT_S)
    assert (offers, waiting, queue.queued_readings, gated.transactions, newest_evaluated(db)) == (
        [True, True, False],
        3,
        0,
        2,
        [NOW - timedelta(hours=2) + timedelta(minutes=5)],
    )


def test_a_closed_queue_refuses_batches(
    gated: GatedDatabase, new_queue: Callable[..., EvaluationQueue], point_id: int
) -> None:
    queue = new_queue()
    queue.close(WAIT_S)
    for add in (queue.submit, queue.offer):
        with pytest.raises(RuntimeError, match="closed"):
            add(flows(point_id, 0, 3), NOW)
