"""es-CL numbers and Chile's times, as the console writes them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from central.ui.format import age, dga_slot, local_time, number


@pytest.mark.parametrize(
    ("value", "decimals", "shown"),
    [
        (1234.5, 1, "1.234,5"),
        (1234567.891, 2, "1.234.567,89"),
        (-1234.56, 1, "-1.234,6"),
        (0.0, 0, "0"),
        (-0.04, 1, "0,0"),  # no "-0,0"
        (12.0, 2, "12,00"),
        (999.95, 1, "1.000,0"),
        (None, 1, "—"),
    ],
)
def test_numbers_have_a_decimal_comma_and_thousands_dots(value: float | None, decimals: int, shown: str) -> None:
    assert number(value, decimals) == shown


@pytest.mark.parametrize(
    ("ts", "shown"),
    [
        (datetime(2026, 11, 28, 13, 0, tzinfo=UTC), "28-11-2026 10:00"),  # summer time, UTC-3
        (datetime(2026, 6, 15, 13, 0, tzinfo=UTC), "15-06-2026 09:00"),  # winter time, UTC-4
        (datetime(2026, 11, 29, 2, 30, tzinfo=UTC), "28-11-2026 23:30"),  # the day is Chile's
        (None, "—"),
    ],
)
def test_times_are_in_chiles_civil_time(ts: datetime | None, shown: str) -> None:
    assert local_time(ts) == shown


@pytest.mark.parametrize(
    ("ts", "shown"),
    [
        (datetime(2026, 11, 28, 13, 0, tzinfo=UTC), "28-11-2026 10:00 (DGA 09:00 UTC-4)"),
        (datetime(2026, 6, 15, 13, 0, tzinfo=UTC), "15-06-2026 09:00 (DGA 09:00 UTC-4)"),
        (None, "—"),
    ],
)
def test_a_dga_slot_is_also_named_in_the_dgas_fixed_utc_minus_4(ts: datetime | None, shown: str) -> None:
    assert dga_slot(ts) == shown


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0 s"),
        (59.9, "59 s"),
        (60, "1 min"),
        (3599, "59 min"),
        (3600, "1 h"),
        (86_400 * 2 + 5, "2 d"),
        (None, "—"),
    ],
)
def test_ages_use_the_largest_whole_unit(seconds: float | None, shown: str) -> None:
    assert age(seconds) == shown
