"""The exact MEE request for one slot (pure).

Every value is a JSON string. ``caudal`` has exactly two decimals (half-up); ``totalizador``
is whole cubic metres (rounded down: a meter shows the m³ already passed, and rounding up
would declare water not yet extracted); date and time are the slot on the DGA's fixed UTC-4
clock; ``timeStampOrigen`` is the send time on that same wall clock followed by the literal
``-0000`` (the practice of control centres in production). Keys follow the manual's order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from compliance.dga.config import DgaWorkConfig, Standard, WorkType
from compliance.dga.rut import normalize_rut
from compliance.dga.slots import to_dga_time
from compliance.dga.values import SlotValues

MEDICION_KEY = {
    WorkType.SUBTERRANEA: "medicionSubterranea",
    WorkType.SUPERFICIAL_FLUJOMETRO: "medicionSuperficialFlujometro",
    WorkType.SUPERFICIAL: "medicionSuperficial",
}
FIELDS = {
    WorkType.SUBTERRANEA: ("caudal", "fechaMedicion", "horaMedicion", "nivelFreaticoDelPozo", "totalizador"),
    WorkType.SUPERFICIAL_FLUJOMETRO: ("caudal", "fechaMedicion", "horaMedicion", "totalizador"),
    WorkType.SUPERFICIAL: ("alturaLimnimetrica", "caudal", "fechaMedicion", "horaMedicion"),
}
MAX_TOTALIZADOR_CHARS = 15
REDACTED = "***"
_CENT = Decimal("0.01")


class FormatError(ValueError):
    """A value that cannot be written in the DGA's format; the slot must not be sent."""


@dataclass(frozen=True)
class DgaRequest:
    """One POST to the MEE service. Its repr never shows the informant's password."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any] = field(repr=False)
    method: str = "POST"

    def json_bytes(self) -> bytes:
        """The body as sent: keys in order, no ASCII escaping."""
        return json.dumps(self.body, ensure_ascii=False, separators=(",", ":")).encode()

    def __repr__(self) -> str:
        shown = redacted(self)
        return (
            f"DgaRequest(method={shown.method!r}, path={shown.path!r}, headers={shown.headers!r}, body={shown.body!r})"
        )


def _finite(value: Decimal, name: str) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise FormatError(f"{name} debe ser un número decimal finito, se recibió {value!r}")
    return value


def _plain(value: Decimal) -> str:
    """Fixed-point text, never ``-0``/``-0.00`` (a zero has no sign in a declaration)."""
    return f"{abs(value) if value.is_zero() else value:f}"


def format_caudal(value: Decimal) -> str:
    """L/s with exactly two decimals, half-up: 12.345 -> ``"12.35"``; -0.004 -> ``"0.00"``."""
    rounded = _finite(value, "caudal").quantize(_CENT, rounding=ROUND_HALF_UP)
    if rounded < 0:
        raise FormatError(f"caudal {value} L/s es negativo; un caudal negativo nunca se declara")
    return _plain(rounded)


def format_totalizador(value: Decimal) -> str:
    """Whole m³, no separators, at most 15 characters."""
    whole = _finite(value, "totalizador").quantize(Decimal(1), rounding=ROUND_DOWN)
    if whole < 0:
        raise FormatError(f"totalizador {value} m3 es negativo")
    text = _plain(whole)
    if len(text) > MAX_TOTALIZADOR_CHARS:
        raise FormatError(f"totalizador {text} tiene {len(text)} dígitos; la DGA admite {MAX_TOTALIZADOR_CHARS}")
    return text


def format_nivel(value: Decimal | None, blank_allowed: bool) -> str:
    """Depth to water in m with two decimals, or ``""`` where the standard allows it."""
    if value is None:
        return _blank("nivelFreaticoDelPozo", blank_allowed)
    return _plain(_finite(value, "nivelFreaticoDelPozo").quantize(_CENT, rounding=ROUND_HALF_UP))


def format_altura(value_cm: Decimal | None, blank_allowed: bool) -> str:
    """Limnimetric height in whole cm (half-up), or ``""`` for Caudales muy pequeños."""
    if value_cm is None:
        return _blank("alturaLimnimetrica", blank_allowed)
    return _plain(_finite(value_cm, "alturaLimnimetrica").quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _blank(name: str, allowed: bool) -> str:
    if not allowed:
        raise FormatError(f"falta {name}, que el estándar de esta obra exige")
    return ""


def format_fecha(slot: datetime) -> str:
    return to_dga_time(slot).strftime("%Y-%m-%d")


def format_hora(slot: datetime) -> str:
    return to_dga_time(slot).strftime("%H:%M:%S")


def format_timestamp_origen(sent_at: datetime) -> str:
    """Send time as UTC-4 wall clock + literal ``-0000``: ``2026-11-28T09:00:05-0000``."""
    return to_dga_time(sent_at).strftime("%Y-%m-%dT%H:%M:%S") + "-0000"


def blank_allowed(field_name: str, standard: Standard, mining_waters: bool) -> bool:
    """Whether the manual lets ``field_name`` go as ``""`` for this work."""
    if field_name == "nivelFreaticoDelPozo":
        return standard is Standard.MUY_PEQUENO or mining_waters
    if field_name == "alturaLimnimetrica":
        return standard is Standard.MUY_PEQUENO
    return False


_SOURCE = {
    "caudal": "caudal",
    "totalizador": "totalizador",
    "nivelFreaticoDelPozo": "nivel_freatico",
    "alturaLimnimetrica": "altura_limnimetrica_cm",
}


def missing_required(values: SlotValues, work_type: WorkType, standard: Standard, mining_waters: bool) -> list[str]:
    """DGA fields this work must declare that ``values`` lacks."""
    return [
        name
        for name in FIELDS[work_type]
        if name in _SOURCE
        and getattr(values, _SOURCE[name]) is None
        and not blank_allowed(name, standard, mining_waters)
    ]


def _field_text(name: str, slot: datetime, values: SlotValues, standard: Standard, mining: bool) -> str:
    if name == "fechaMedicion":
        return format_fecha(slot)
    if name == "horaMedicion":
        return format_hora(slot)
    value = getattr(values, _SOURCE[name])
    if name == "caudal":
        if value is None:
            raise FormatError("falta caudal; toda medición DGA declara un caudal")
        return format_caudal(value)
    if name == "totalizador":
        if value is None:
            raise FormatError("falta totalizador, que este tipo de obra exige")
        return format_totalizador(value)
    allowed = blank_allowed(name, standard, mining)
    return format_nivel(value, allowed) if name == "nivelFreaticoDelPozo" else format_altura(value, allowed)


def build_measurement(
    work_type: WorkType, standard: Standard, mining_waters: bool, slot: datetime, values: SlotValues
) -> dict[str, str]:
    """The measurement object (``medicion...``) for one slot, keys in the manual's order."""
    return {name: _field_text(name, slot, values, standard, mining_waters) for name in FIELDS[work_type]}


def build_request(
    config: DgaWorkConfig, *, rut_empresa: str, slot: datetime, values: SlotValues, sent_at: datetime
) -> DgaRequest:
    """The complete request for ``slot`` as sent at ``sent_at``; raises :class:`FormatError`."""
    measurement = build_measurement(config.work_type, config.standard, config.mining_waters, slot, values)
    body = {
        "autenticacion": {
            "password": config.informant_password.get_secret_value(),
            "rutEmpresa": normalize_rut(rut_empresa),
            "rutUsuario": normalize_rut(config.informant_rut),
        },
        MEDICION_KEY[config.work_type]: measurement,
    }
    headers = {
        "Content-Type": "application/json",
        "codigoObra": config.codigo_obra,
        "timeStampOrigen": format_timestamp_origen(sent_at),
    }
    return DgaRequest(path=config.work_type.path, headers=headers, body=body)


def redacted(request: DgaRequest) -> DgaRequest:
    """The same request with the password replaced by ``***`` (for the attempt log)."""
    body = dict(request.body)
    if isinstance(body.get("autenticacion"), dict):
        body["autenticacion"] = {**body["autenticacion"], "password": REDACTED}
    return replace(request, body=body)
