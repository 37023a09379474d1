"""A faulty network between the agent and the central server (tests/faults/proxy.py):
every reading the agent produced is stored once, whatever the uplink did to its requests."""

from __future__ import annotations

import pytest

from tests.faults.ledger import Tally
from tests.faults.proxy import Mode
from tests.faults.scenarios import proxy_chaos, proxy_window

# what each mode must have done to at least one request for the test to mean anything
INJECTED = [
    (Mode.DELAY, "requests_delay"),
    (Mode.DROP_REPLY, "replies_dropped"),  # the server stored the batch, the agent never heard
    (Mode.RESET, "requests_reset"),
    (Mode.BLACK_HOLE, "requests_black_hole"),
]


@pytest.mark.parametrize(("mode", "counter"), INJECTED)
def test_readings_cross_a_faulty_uplink_stored_once(fault_rig, mode, counter):
    outcome = proxy_window(fault_rig, mode, seconds=4)
    print(outcome.figures())
    assert outcome.faults[counter] >= 1
    assert outcome.tally == Tally.clean(outcome.tally.produced)


def test_readings_cross_random_uplink_faults_and_agent_kills_stored_once(fault_rig, rng):
    outcome = proxy_chaos(fault_rig, rng, seconds=15, agent_kill_share=0.3)
    print(outcome.figures())
    assert outcome.tally == Tally.clean(outcome.tally.produced)
