"""The body of one SMA ``registros`` call (pure): one call per timestamp, every parameter in it.

The SMA refuses a call with a missing or an extra parameter, so a timestamp lacking any
configured value is not sent at all (:class:`SmaFormatError`), never sent partially.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from compliance.samples import as_decimal
from compliance.sma.config import SmaParameter, SmaPointConfig


class SmaFormatError(ValueError):
    """Values that cannot form a complete SMA call."""


def format_estampa(ts: datetime, utc_offset_hours: int) -> str:
    """``2026-05-17T14:05:00`` on the configured fixed offset (no zone suffix, as in practice)."""
    if ts.tzinfo is None:
        raise SmaFormatError(f"estampaTiempo necesita una hora con su diferencia con UTC, se recibió {ts.isoformat()}")
    return ts.astimezone(timezone(timedelta(hours=utc_offset_hours))).strftime("%Y-%m-%dT%H:%M:%S")


def format_valor(value: Decimal | float, parameter: SmaParameter) -> str:
    """The value as text with the parameter's decimals, half-up, never ``-0``."""
    number = as_decimal(value)
    if not number.is_finite():
        raise SmaFormatError(f"{parameter.nombre}: {value!r} no es un número finito")
    rounded = number.quantize(Decimal(1).scaleb(-parameter.decimals), rounding=ROUND_HALF_UP)
    return f"{abs(rounded) if rounded.is_zero() else rounded:f}"


def build_registros(
    config: SmaPointConfig, ts: datetime, values: Mapping[str, Decimal | float | None]
) -> list[dict[str, Any]]:
    """The JSON array for the values of every configured parameter at ``ts`` (keyed by variable)."""
    present = {name: value for name, value in values.items() if value is not None}
    missing = [p.variable for p in config.parameters if p.variable not in present]
    if missing:
        raise SmaFormatError(
            f"no hay valor a las {ts.isoformat()} para {', '.join(missing)}; la SMA necesita todos los parámetros en una llamada"
        )
    estampa = format_estampa(ts, config.timestamp_utc_offset_hours)
    parametros = [
        {
            "nombre": p.nombre,
            "valor": format_valor(present[p.variable], p),
            "unidad": p.unidad,
            "estampaTiempo": estampa,
        }
        for p in config.parameters
    ]
    return [{"dispositivoId": config.dispositivo_id, "parametros": parametros}]
