"""What the Administración forms send to the API, from what a person typed (pure).

Each function maps a posted form to the body of one API request; the API validates it (the
same rules as for a script) and its refusal is shown to the person. A regulator
configuration's fields the form does not show keep their stored values; a password is sent
only when typed (empty keeps the stored one, which is never shown).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from central.ui.format import SANTIAGO, parse_time

ROLES = {"operador": False, "administrador": True}
STATES = {"activo": True, "desactivado": False}
POINT_TEXT = ("name", "kind", "status")
POINT_NUMBERS = ("latitude", "longitude", "water_right_lps", "sensor_depth_m")
DGA_TEXT = ("mode", "work_type", "codigo_obra", "standard", "informant_rut")
DGA_OPTIONAL = ("period", "caudal_mode", "base_url", "meter_profile")
DGA_LIMITS = ("caudal_max_lps", "totalizador_max_m3", "nivel_freatico_min_m", "nivel_freatico_max_m")
SMA_TEXT = ("mode", "uf_id", "proceso_id", "dispositivo_id", "usuario")
SMA_PARAMETER = ("variable", "nombre", "unidad", "decimals")
GRANT_PREFIX = "punto:"


class FormError(ValueError):
    """A field that is not what it should be (a number, a date); the message is for the person."""


def number(form: Mapping[str, str], name: str, label: str) -> float | None:
    """A number typed with a decimal comma or point; empty is none."""
    text = form.get(name, "").strip()
    if not text:
        return None
    try:
        return float(text.replace(",", "."))
    except ValueError:
        raise FormError(f"«{label}» debe ser un número (escribió {text!r}).") from None


def decimal_text(form: Mapping[str, str], name: str, label: str) -> str | None:
    """A decimal limit as typed (``12,5`` -> ``"12.5"``): the API keeps it exact, not as a float."""
    value = number(form, name, label)
    return None if value is None else form[name].strip().replace(",", ".")


def whole_number(form: Mapping[str, str], name: str, label: str) -> int | None:
    value = number(form, name, label)
    if value is not None and not value.is_integer():
        raise FormError(f"«{label}» debe ser un número entero.")
    return None if value is None else int(value)


def local_datetime(text: str, label: str) -> str:
    """A ``datetime-local`` field (Chile's civil time) as the API's aware ISO time."""
    try:
        return datetime.fromisoformat(text).replace(tzinfo=SANTIAGO).isoformat()
    except ValueError:
        raise FormError(f"«{label}» debe ser una fecha y hora.") from None


def datetime_field(value: str | None) -> str:
    """A stored ISO time as a ``datetime-local`` field shows it, in Chile's civil time."""
    return parse_time(value).astimezone(SANTIAGO).strftime("%Y-%m-%dT%H:%M") if value else ""


def user_change(form: Mapping[str, str]) -> dict[str, Any]:
    """``PATCH /api/v1/users/{username}``: e-mail, role, active or disabled."""
    return {
        "email": form.get("email", "").strip() or None,
        "is_admin": ROLES.get(form.get("rol", ""), False),
        "is_active": STATES.get(form.get("estado", ""), True),
    }


def granted_codes(form: Mapping[str, str]) -> list[str]:
    """``PUT /api/v1/users/{username}/points``: the ticked points (``punto:<code>`` checkboxes)."""
    return sorted(
        key.removeprefix(GRANT_PREFIX) for key, value in form.items() if key.startswith(GRANT_PREFIX) and value == "on"
    )


def point_change(form: Mapping[str, str]) -> dict[str, Any]:
    """``PATCH /api/v1/points/{code}``: an emptied position, right or depth is cleared; an empty
    flow cutoff is none (0)."""
    labels = {
        "latitude": "Latitud",
        "longitude": "Longitud",
        "water_right_lps": "Derecho",
        "sensor_depth_m": "Profundidad del sensor",
    }
    change: dict[str, Any] = {name: form.get(name, "").strip() for name in POINT_TEXT}
    change |= {name: number(form, name, labels[name]) for name in POINT_NUMBERS}
    change["flow_cutoff_lps"] = number(form, "flow_cutoff_lps", "Caudal de corte") or 0.0
    return change


def dga_body(form: Mapping[str, str], stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """``PUT .../compliance/dga``: the stored settings, with the form's fields over them."""
    body = dict(stored or {})
    body |= {name: form.get(name, "").strip() for name in DGA_TEXT}
    body |= {name: form.get(name, "").strip() or None for name in DGA_OPTIONAL}
    body["valid_from"] = local_datetime(form.get("valid_from", ""), "Válida desde")
    limits = dict(body.get("limits") or {})
    for name in DGA_LIMITS:
        limits[name] = decimal_text(form, name, name.replace("_", " "))
    body["limits"] = {name: value for name, value in limits.items() if value is not None}
    return _with_password(body, form, "informant_password")


def sma_parameters(form: Mapping[str, str]) -> list[dict[str, Any]]:
    """The parameter rows with a variable (``p<n>_variable``...); blank rows are left out."""
    rows, index = [], 0
    while f"p{index}_variable" in form:
        row = {name: form.get(f"p{index}_{name}", "").strip() for name in SMA_PARAMETER}
        if row["variable"]:
            decimals = whole_number(form, f"p{index}_decimals", "Decimales")
            rows.append({**row, "decimals": 2 if decimals is None else decimals})
        index += 1
    return rows


def sma_body(form: Mapping[str, str], stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """``PUT .../compliance/sma``: the stored settings, with the form's fields over them."""
    body = dict(stored or {})
    body |= {name: form.get(name, "").strip() for name in SMA_TEXT}
    body["parameters"] = sma_parameters(form)
    body["cadence_minutes"] = whole_number(form, "cadence_minutes", "Cada cuántos minutos")
    body["timestamp_utc_offset_hours"] = whole_number(form, "timestamp_utc_offset_hours", "Desfase UTC (horas)")
    body["base_url"] = form.get("base_url", "").strip() or None
    return _with_password(body, form, "password")


def _with_password(body: dict[str, Any], form: Mapping[str, str], field: str) -> dict[str, Any]:
    body.pop(field, None)
    if form.get(field):
        body[field] = form[field]
    return body


def generic_body(form: Mapping[str, str], secret_field: str, stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """A regulator without a form of its own (one registered after the console was written): its
    mode, its settings as a JSON object, and its write-only password (empty keeps the stored one)."""
    text = form.get("settings", "").strip()
    try:
        settings = json.loads(text) if text else {}
    except ValueError:
        settings = None
    if not isinstance(settings, dict):
        raise FormError('«Otros parámetros» debe ser un objeto JSON, por ejemplo {"cadence_minutes": 5}.')
    body = {
        **{k: v for k, v in (stored or {}).items() if k != secret_field},
        **settings,
        "mode": form.get("mode", "off"),
    }
    return _with_password(body, form, secret_field)
