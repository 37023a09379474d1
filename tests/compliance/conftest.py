"""Fixtures for the compliance tests: the central database ones (SQLite and PostgreSQL), a DGA
stand-in that knows the work of ``worker_support``, and that work's point."""

import pytest

from compliance.standins.dga import run_dga_standin
from tests.central.conftest import app_client, database_url, db, settings  # noqa: F401
from tests.compliance.worker_support import REGISTRY, RUT_EMPRESA, seed


@pytest.fixture
async def dga(clock):
    async with run_dga_standin(REGISTRY, RUT_EMPRESA, clock=clock) as stand_in:
        yield stand_in


@pytest.fixture
def point_id(db, clock):  # noqa: F811 (db is the fixture imported above)
    return seed(db, clock.now())
