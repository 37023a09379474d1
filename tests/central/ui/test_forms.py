"""What the Administración forms send to the API, from what a person typed (pure)."""

from __future__ import annotations

import pytest

from central.ui import forms

STORED_DGA = {
    "mode": "live",
    "work_type": "subterranea",
    "codigo_obra": "OB-0601-444",
    "standard": "mayor",
    "period": "hour",
    "caudal_mode": "instant",
    "informant_rut": "12345678-5",
    "base_url": "http://127.0.0.1:9000",
    "valid_from": "2026-11-28T12:00:00Z",
    "valid_to": None,
    "grace_minutes": 15,
    "instant_window_s": 300,
    "mining_waters": False,
    "meter_profile": None,
    "limits": {"caudal_max_lps": "40", "altura_limnimetrica_max_cm": "300"},
}
DGA_FORM = {
    "mode": "shadow",
    "work_type": "subterranea",
    "codigo_obra": "OB-0601-444",
    "standard": "medio",
    "period": "",
    "caudal_mode": "",
    "informant_rut": "12345678-5",
    "informant_password": "",
    "valid_from": "2026-11-28T09:00",
    "base_url": "http://127.0.0.1:9000",
    "meter_profile": "siemens-mag6000",
    "caudal_max_lps": "",
    "totalizador_max_m3": "999999,5",
    "nivel_freatico_min_m": "",
    "nivel_freatico_max_m": "80",
}


def test_the_dga_form_goes_over_the_stored_settings_and_leaves_out_an_empty_password() -> None:
    assert forms.dga_body(DGA_FORM, STORED_DGA) == {
        **STORED_DGA,
        "mode": "shadow",
        "standard": "medio",
        "period": None,
        "caudal_mode": None,
        "meter_profile": "siemens-mag6000",
        "valid_from": "2026-11-28T09:00:00-03:00",
        "limits": {"totalizador_max_m3": "999999.5", "nivel_freatico_max_m": "80", "altura_limnimetrica_max_cm": "300"},
    }


def test_a_typed_password_is_sent_and_a_new_configuration_starts_from_nothing() -> None:
    body = forms.dga_body({**DGA_FORM, "informant_password": "nueva"}, None)
    assert (body["informant_password"], "grace_minutes" in body) == ("nueva", False)


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("nivel_freatico_max_m", "ochenta", "«nivel freatico max m» debe ser un número (escribió 'ochenta')."),
        ("valid_from", "mañana", "«Válida desde» debe ser una fecha y hora."),
    ],
)
def test_a_field_that_is_not_a_number_or_a_date_is_named(field: str, typed: str, message: str) -> None:
    with pytest.raises(forms.FormError) as refused:
        forms.dga_body({**DGA_FORM, field: typed}, STORED_DGA)
    assert str(refused.value) == message


def test_the_sma_form_keeps_filled_parameter_rows_and_the_stored_password() -> None:
    form = {
        "mode": "live",
        "uf_id": "UF-7",
        "proceso_id": "P-1",
        "dispositivo_id": "D-3",
        "usuario": "12345678-5",
        "password": "",
        "cadence_minutes": "",
        "timestamp_utc_offset_hours": "-4",
        "base_url": "",
        "p0_variable": "flow",
        "p0_nombre": "Caudal",
        "p0_unidad": "L/s",
        "p0_decimals": "",
        "p1_variable": "",
        "p1_nombre": "ignorado",
        "p1_unidad": "",
        "p1_decimals": "",
        "p2_variable": "level",
        "p2_nombre": "Nivel",
        "p2_unidad": "m",
        "p2_decimals": "3",
    }
    assert forms.sma_body(form, {"uf_id": "UF-1", "password": "never-here"}) == {
        "mode": "live",
        "uf_id": "UF-7",
        "proceso_id": "P-1",
        "dispositivo_id": "D-3",
        "usuario": "12345678-5",
        "parameters": [
            {"variable": "flow", "nombre": "Caudal", "unidad": "L/s", "decimals": 2},
            {"variable": "level", "nombre": "Nivel", "unidad": "m", "decimals": 3},
        ],
        "cadence_minutes": None,
        "timestamp_utc_offset_hours": -4,
        "base_url": None,
    }


@pytest.mark.parametrize(
    ("form", "change"),
    [
        (
            {"email": "", "rol": "administrador", "estado": "activo"},
            {"email": None, "is_admin": True, "is_active": True},
        ),
        (
            {"email": " a@b.cl ", "rol": "operador", "estado": "desactivado"},
            {"email": "a@b.cl", "is_admin": False, "is_active": False},
        ),
    ],
)
def test_an_accounts_role_and_state(form: dict[str, str], change: dict[str, object]) -> None:
    assert forms.user_change(form) == change


def test_the_ticked_points_are_the_new_list() -> None:
    assert forms.granted_codes({"csrf": "x", "punto:OB-2": "on", "punto:OB-1": "on", "otro": "on"}) == ["OB-1", "OB-2"]


POINT_FORM = [  # (field, as typed, as stored)
    ("name", " Pozo ", "Pozo"),
    ("kind", "subterranea", "subterranea"),
    ("status", "active", "active"),
    ("latitude", "-33,45", -33.45),
    ("longitude", "-70.66", -70.66),
    ("water_right_lps", "", None),
    ("sensor_depth_m", "", None),
    ("flow_cutoff_lps", "", 0.0),
]


def test_a_points_emptied_numbers_are_cleared_and_a_comma_is_a_decimal_point() -> None:
    form = {field: typed for field, typed, _ in POINT_FORM}
    assert forms.point_change(form) == {field: stored for field, _, stored in POINT_FORM}


@pytest.mark.parametrize(
    ("stored", "shown"),
    [("2026-11-28T12:00:00Z", "2026-11-28T09:00"), ("2026-06-15T12:00:00Z", "2026-06-15T08:00"), (None, "")],
)
def test_a_stored_time_is_shown_in_chiles_civil_time(stored: str | None, shown: str) -> None:
    assert forms.datetime_field(stored) == shown
