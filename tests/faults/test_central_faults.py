"""The central server killed and restarted, its database connections terminated, while the
agent uploads: every reading the agent produced is stored once."""

from __future__ import annotations

from tests.faults.ledger import Tally
from tests.faults.scenarios import central_restarts, connection_kills


def test_readings_survive_central_server_kills_and_restarts_stored_once(fault_rig, rng):
    outcome = central_restarts(fault_rig, rng, restarts=2)
    print(outcome.figures())
    assert (outcome.faults, outcome.tally) == ({"central kill -9": 2}, Tally.clean(outcome.tally.produced))


def test_readings_survive_terminated_database_connections_stored_once(fault_rig, rng):
    outcome = connection_kills(fault_rig, rng, rounds=8)
    print(outcome.figures())
    assert outcome.faults["connections terminated"] >= 8  # the server's pool held at least one each round
    assert outcome.tally == Tally.clean(outcome.tally.produced)
