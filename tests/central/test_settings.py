"""Installation settings come from ``CAUDAL_*`` variables of the process (pydantic-settings); a bad
value is refused naming the variable, which is what the operator edits."""

from __future__ import annotations

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
