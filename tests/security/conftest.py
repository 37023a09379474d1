"""The seeded world of the alert tests (the suite's ``world`` fixture), on SQLite and
PostgreSQL, as a :class:`~tests.security.targets.Site` to aim at."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.central.alerts.db_support import World
from tests.security.targets import Site


@pytest.fixture
def site(world: World) -> Iterator[Site]:
    yield Site(world)
