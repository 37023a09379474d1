"""The waits after consecutive failures: a device's next poll, a bus's next open."""

from __future__ import annotations

import pytest

from edge.backoff import backoff_s
from edge.bus import RECONNECT_INITIAL_S, RECONNECT_MAX_S


@pytest.mark.parametrize(
    ("failures", "expected"),
    [
        (0, 0),
        (1, 60),
        (2, 120),
        (3, 240),
        (4, 480),
        (5, 900),
        (50, 900),
        (1025, 900),
        (10**6, 900),  # the power written out overflows a float from about 1025
    ],
)
def test_a_silent_device_waits_double_from_its_interval_up_to_its_cap(failures: int, expected: float) -> None:
    assert backoff_s(failures, initial_s=60, max_s=900, factor=2) == expected


@pytest.mark.parametrize(
    ("failures", "factor", "expected"),
    [
        (1, 1.0, 60),
        (50, 1.0, 60),
        (2, 1.5, 90),
        (3, 1.5, 135),
        (3, 10, 900),
        (400, 10, 900),
    ],
)
def test_the_factor_sets_how_fast_the_wait_grows(failures: int, factor: float, expected: float) -> None:
    assert backoff_s(failures, initial_s=60, max_s=900, factor=factor) == expected


@pytest.mark.parametrize(
    ("failures", "expected"),
    [
        (1, 1),
        (2, 2),
        (3, 4),
        (6, 32),
        (7, 60),
        (1025, 60),
        (10**6, 60),
    ],
)
def test_a_failed_link_is_reopened_after_doubling_waits_up_to_a_minute(failures: int, expected: float) -> None:
    assert backoff_s(failures, RECONNECT_INITIAL_S, RECONNECT_MAX_S) == expected
