"""What the console's pages put side by side, from the API's answers (pure), and its settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from central.settings import SettingsError
from central.ui.console import content_policy
from central.ui.settings import OSM_TILES, ConsoleSettings
from central.ui.views import MonthRow, PointLatest, SummaryRow, month_rows, summary_rows
from compliance.semaforo import Light

SLOT = datetime(2026, 11, 28, 13, tzinfo=UTC)
NOW = datetime(2026, 11, 28, 13, 20, tzinfo=UTC)
POINTS = [
    PointLatest(
        "A",
        "Pozo A",
        -33.4,
        -70.6,
        {"flow": 12.5, "level": 40.0, "pressure": 2.0},
        datetime(2026, 11, 28, 13, 10, tzinfo=UTC),
    ),
    PointLatest("B", "Pozo B", None, None),
]


def test_a_summary_row_per_point_with_latest_values_online_alerts_and_light() -> None:
    rows = summary_rows(POINTS, {"A": 2}, {"A": Light("green", "accepted", SLOT, "accepted")}, NOW, 900)
    assert rows == [
        SummaryRow(
            "A",
            "Pozo A",
            -33.4,
            -70.6,
            {"flow": 12.5, "totalizer": None, "level": 40.0, "water_table": None},
            datetime(2026, 11, 28, 13, 10, tzinfo=UTC),
            True,
            2,
            "green",
            "accepted",
            SLOT,
        ),
        SummaryRow(
            "B",
            "Pozo B",
            None,
            None,
            {"flow": None, "totalizer": None, "level": None, "water_table": None},
            None,
            False,
            0,
            "none",
            "none",
            None,
        ),
    ]


@pytest.mark.parametrize(("age_s", "online"), [(899.0, True), (900.0, False)])
def test_a_point_is_online_while_its_newest_reading_is_younger_than_the_threshold(age_s: float, online: bool) -> None:
    point = PointLatest("A", "Pozo A", None, None, {"flow": 1.0}, NOW - timedelta(seconds=age_s))
    assert summary_rows([point], {}, {}, NOW, 900)[0].online is online


def test_each_month_beside_the_volume_its_right_allows() -> None:
    months = [
        {"start": "2026-10-01T03:00:00Z", "end": "2026-11-01T03:00:00Z", "volume_m3": 26_784.0},
        {"start": "2026-11-01T03:00:00Z", "end": "2026-12-01T03:00:00Z", "volume_m3": None},
    ]
    assert month_rows(months, 10.0) == [
        MonthRow("2026-10", 26_784.0, 26_784.0, 1.0),
        MonthRow("2026-11", None, 25_920.0, None),
    ]
    assert month_rows(months[:1], None) == [MonthRow("2026-10", 26_784.0, None, None)]


def test_the_tile_url_may_be_emptied_for_an_air_gapped_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAUDAL_CONSOLE_TILE_URL", raising=False)
    default = ConsoleSettings.from_env().tile_url
    monkeypatch.setenv("CAUDAL_CONSOLE_TILE_URL", "")
    assert (default, ConsoleSettings.from_env().tile_url) == (OSM_TILES, "")


def test_a_bad_cookie_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAUDAL_CONSOLE_COOKIE_SECURE", "sometimes")
    with pytest.raises(
        SettingsError,
        match="^configuración inválida: CAUDAL_CONSOLE_COOKIE_SECURE: debe ser 'auto', 'always' o 'never'$",
    ):
        ConsoleSettings.from_env()


@pytest.mark.parametrize(
    ("tile_url", "images"),
    [
        (OSM_TILES, "img-src 'self' data: https://tile.openstreetmap.org;"),
        ("http://tiles.local:8080/{z}/{x}/{y}.png", "img-src 'self' data: http://tiles.local:8080;"),
        ("", "img-src 'self' data:;"),
    ],
)
def test_console_pages_load_scripts_from_this_server_only_and_tiles_from_the_tile_server(
    tile_url: str, images: str
) -> None:
    assert content_policy(tile_url) == (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        + images
        + " form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
