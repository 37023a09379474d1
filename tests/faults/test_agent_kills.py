"""kill -9 of the edge agent at random instants, polling or draining a backlog: every reading
it produced is stored once."""

from __future__ import annotations

from tests.faults.ledger import Tally
from tests.faults.scenarios import agent_kills, backlog_kills


def test_readings_survive_agent_kills_at_random_instants_stored_once(fault_rig, rng):
    outcome = agent_kills(fault_rig, rng, kills=6)
    print(outcome.figures())
    assert outcome.tally.produced > 0
    assert outcome.tally == Tally.clean(outcome.tally.produced)


def test_a_backlog_drained_through_agent_kills_is_stored_once(fault_rig, rng):
    """The kills land while 5000-reading batches are in flight: stored, not yet acknowledged."""
    outcome = backlog_kills(fault_rig, rng, backlog=30_000, kills=4)
    print(outcome.figures())
    assert outcome.tally.produced > 30_000
    assert outcome.tally == Tally.clean(outcome.tally.produced)
