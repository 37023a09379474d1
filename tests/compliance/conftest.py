"""Fixtures for the compliance tests: a DGA stand-in that knows the work of ``worker_support``,
and that work's point (the database fixtures are the suite's, tests/conftest.py)."""

import pytest

from compliance.standins.dga import run_dga_standin
from tests.compliance.worker_support import REGISTRY, RUT_EMPRESA, seed


@pytest.fixture
async def dga(clock):
    async with run_dga_standin(REGISTRY, RUT_EMPRESA, clock=clock) as stand_in:
        yield stand_in


@pytest.fixture
def point_id(db, clock):
    return seed(db, clock.now())
