"""Fixtures of the fault tests: a whole rig (PostgreSQL, central server, meter, proxy, agent).

Every test here that runs the real processes takes seconds to tens of seconds: they are
marked ``slow`` and ``postgres`` (``-m 'not slow'`` leaves them out locally; CI runs them). The
server, meter and proxy are shared by a module's tests (starting them costs seconds);
each test gets a fresh agent and buffer, and the server forgets the readings before it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.rig import Rig, rig
from tests.faults.scenarios import SEED

TIMEOUT_S = 300  # above the scenarios' own waits, so theirs name what did not happen


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests on a rig of real processes (a ``*rig`` fixture) are slow; those on PostgreSQL say so."""
    here = Path(__file__).parent
    for item in items:
        if Path(item.fspath).parent != here:
            continue
        fixtures = getattr(item, "fixturenames", ())
        if "postgres_admin_url" in fixtures:
            item.add_marker(pytest.mark.postgres)
        if any(name.endswith("rig") for name in fixtures):
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.timeout(TIMEOUT_S))


@pytest.fixture(scope="module")
def module_rig(postgres_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    with rig(postgres_admin_url, tmp_path_factory.mktemp("faults")) as running:
        yield running


@pytest.fixture
def fault_rig(module_rig: Rig, tmp_path: Path) -> Iterator[Rig]:
    """The module's rig with a fresh agent; the processes' log tails are printed at teardown
    (pytest shows them when the test failed)."""
    running = module_rig.with_new_agent(tmp_path / "agent")
    yield running
    running.agent.kill()
    print(running.logs())


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> random.Random:
    """Seeded per test, so each test's fault instants are fixed and independent of the others."""
    return random.Random(f"{SEED}:{request.node.nodeid}")
