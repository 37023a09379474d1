"""Installation settings come from ``CAUDAL_*`` variables of the process (pydantic-settings); a bad
value is refused naming the variable, which is what the operator edits."""

from __future__ import annotations

from pathlib import Path

import pytest

from central.settings import Settings, SettingsError


def test_variables_fill_the_settings_and_the_caller_s_values_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAUDAL_DATABASE_URL", "postgresql://db/caudal")
    monkeypatch.setenv("CAUDAL_ROLLUP_INTERVAL_S", "30")
    monkeypatch.setenv("CAUDAL_WORKERS", "false")
    settings = Settings.from_env(workers=True)
    assert (settings.database_url, settings.rollup_interval_s, settings.workers) == (
        "postgresql://db/caudal",
        30.0,
        True,
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CAUDAL_SESSION_TTL_MINUTES", "0", "configuración inválida: CAUDAL_SESSION_TTL_MINUTES: debe ser mayor que 0"),
        ("CAUDAL_ROLLUP_INTERVAL_S", "0", "configuración inválida: CAUDAL_ROLLUP_INTERVAL_S: debe ser mayor que 0"),
        (
            "CAUDAL_INGEST_CONCURRENCY",
            "0",
            "configuración inválida: CAUDAL_INGEST_CONCURRENCY: debe ser mayor o igual que 1",
        ),
        (
            "CAUDAL_INGEST_CONCURRENCY",
            "65",
            "configuración inválida: CAUDAL_INGEST_CONCURRENCY: debe ser menor o igual que 64",
        ),
        ("CAUDAL_WORKERS", "maybe", "configuración inválida: CAUDAL_WORKERS: debe ser true o false"),
        (
            "CAUDAL_ALERT_EVALUATION",
            "later",
            "configuración inválida: CAUDAL_ALERT_EVALUATION: debe ser 'inline' o 'role'",
        ),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        Settings.from_env()
    assert str(refused.value) == message


def readme_defaults() -> dict[str, str]:
    """The README's settings table: each row naming one variable, with its last cell (the default)."""
    rows = {}
    for line in (Path(__file__).parents[2] / "README.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| `CAUDAL_") and cells[0].count("`") == 2:
            rows[cells[0].strip("`")] = cells[-1]
    return rows


def shown(default: object) -> str:
    """A default as the README writes it: ``true``, ``1`` for 1.0, ``none`` for no value."""
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, float) and default.is_integer():
        return str(int(default))
    return "none" if default is None else str(default)


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_the_readme_gives_each_setting_s_default(field: str) -> None:
    written = readme_defaults()[f"CAUDAL_{field.upper()}"]
    assert written.strip("`").split(" ")[0] == shown(Settings.model_fields[field].default)
