"""Validation problems in Spanish, the language of the people who read them: operators at the
API and console, technicians at a well running ``caudal edge check``. One translator for the
whole product, here in the shared layer so the edge and the central server word a mistake alike.

pydantic writes its problems in English; :func:`problem` writes the common ones in Spanish from
their ``type`` and ``ctx`` (the values a limit names), and keeps pydantic's own text for the
rare types not listed (they still carry their stable ``type``). A ``value_error`` is not listed:
its text is the validator's own sentence, written in Spanish where it is raised.
"""

from __future__ import annotations

from typing import Any

WITH_OFFSET = "la hora debe llevar su diferencia con UTC (por ejemplo 2026-11-28T13:00:00Z o 2026-11-28T10:00:00-03:00)"
NOT_A_TIME = "no es una fecha y hora ISO 8601 (por ejemplo 2026-11-28T13:00:00Z)"
AN_OBJECT = "debe ser un objeto de campos con su valor (campo: valor)"

TEMPLATES: dict[str, str] = {
    "missing": "falta este campo",
    "timezone_aware": WITH_OFFSET,
    "datetime_parsing": NOT_A_TIME,
    "datetime_from_date_parsing": NOT_A_TIME,
    "datetime_type": NOT_A_TIME,
    "int_parsing": "debe ser un número entero",
    "int_type": "debe ser un número entero",
    "int_from_float": "debe ser un número entero",
    "float_parsing": "debe ser un número",
    "float_type": "debe ser un número",
    "finite_number": "debe ser un número finito",
    "bool_parsing": "debe ser true o false",
    "bool_type": "debe ser true o false",
    "string_type": "debe ser texto",
    "path_type": "debe ser una ruta de archivo",
    "greater_than": "debe ser mayor que {gt}",
    "greater_than_equal": "debe ser mayor o igual que {ge}",
    "less_than": "debe ser menor que {lt}",
    "less_than_equal": "debe ser menor o igual que {le}",
    "string_too_short": "debe tener al menos {min_length} carácter(es)",
    "string_too_long": "debe tener como máximo {max_length} carácter(es)",
    "string_pattern_mismatch": "no tiene la forma esperada ({pattern})",
    "too_short": "debe tener al menos {min_length} elemento(s)",
    "too_long": "debe tener como máximo {max_length} elemento(s)",
    "literal_error": "debe ser {expected}",
    "enum": "debe ser {expected}",
    "extra_forbidden": "campo desconocido",
    "json_invalid": "no es JSON válido",
    "uuid_parsing": "no es un UUID",
    "ip_v4_network": "no es una red IPv4 (por ejemplo 10.0.0.0/8)",
    "ip_v6_network": "no es una red IPv6 (por ejemplo fd00::/8)",
    "dict_type": AN_OBJECT,
    "model_type": AN_OBJECT,
    "model_attributes_type": AN_OBJECT,
    "list_type": "debe ser una lista",
    "union_tag_invalid": "kind debe ser {expected_tags} (se recibió {tag})",
    "union_tag_not_found": "falta kind, el tipo",
}


def problem(error: dict[str, Any]) -> str:
    """One validation problem (pydantic's ``{type, msg, ctx}``) as a Spanish sentence."""
    template = TEMPLATES.get(error.get("type", ""))
    if template is None:
        message = str(error.get("msg", ""))
        return message.removeprefix("Value error, ")
    context = {key: _written(value) for key, value in (error.get("ctx") or {}).items()}
    try:
        return template.format(**context)
    except KeyError:
        return str(error.get("msg", ""))


def _written(value: Any) -> str:
    """A limit as a person writes it (0, not 0.0); pydantic's lists of choices ("'a', 'b' or
    'c'") with the Spanish conjunction."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).replace(" or ", " o ")
