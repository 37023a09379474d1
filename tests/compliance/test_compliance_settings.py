"""The worker's own settings (``CAUDAL_COMPLIANCE_*``): the late-data horizon and the SMA backfill."""

import pytest

from central.settings import SettingsError
from compliance.settings import ComplianceSettings


def _set(monkeypatch, environ):
    """The process environment holds exactly ``environ`` of the worker's variables."""
    for name in ComplianceSettings.model_fields:
        monkeypatch.delenv(f"CAUDAL_COMPLIANCE_{name.upper()}", raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, (None, 7)),  # late data back to each work's valid_from; SMA a week back
        ({"CAUDAL_COMPLIANCE_LATE_DATA_DAYS": "90"}, (90, 7)),
        ({"CAUDAL_COMPLIANCE_LATE_DATA_DAYS": "400", "CAUDAL_COMPLIANCE_SMA_BACKFILL_DAYS": "31"}, (400, 31)),
    ],
)
def test_horizons(environ, expected, monkeypatch):
    _set(monkeypatch, environ)
    settings = ComplianceSettings.from_env()
    assert (settings.late_data_days, settings.sma_backfill_days) == expected


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"CAUDAL_COMPLIANCE_LATE_DATA_DAYS": "30"},
            "configuración inválida: CAUDAL_COMPLIANCE_LATE_DATA_DAYS: debe ser mayor o igual que 90",
        ),
        (
            {"CAUDAL_COMPLIANCE_SMA_BACKFILL_DAYS": "0"},
            "configuración inválida: CAUDAL_COMPLIANCE_SMA_BACKFILL_DAYS: debe ser mayor o igual que 1",
        ),
        (
            {"CAUDAL_COMPLIANCE_SMA_BACKFILL_DAYS": "32"},
            "configuración inválida: CAUDAL_COMPLIANCE_SMA_BACKFILL_DAYS: debe ser menor o igual que 31",
        ),
    ],
)
def test_horizons_out_of_range_are_refused_naming_the_variable(environ, message, monkeypatch):
    _set(monkeypatch, environ)
    with pytest.raises(SettingsError) as refused:
        ComplianceSettings.from_env()
    assert str(refused.value) == message
