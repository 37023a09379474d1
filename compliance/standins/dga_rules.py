"""How the DGA stand-in judges a request (pure): the MEE contract as far as it is documented.

Each check returns the refusal message or ``None``; the first refusal wins, as a real
service stops at the first error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from compliance.dga.codes import CODIGO_OBRA
from compliance.dga.config import WorkType
from compliance.dga.format import FIELDS, MEDICION_KEY
from compliance.dga.rut import check_digit

NOT_INFORMANT = "Usuario no es el informante registrado en la Obra"
_RUT = re.compile(r"([0-9]{1,9})-([0-9K])")
_ORIGIN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}-0000")
_FORMATS = {
    "caudal": re.compile(r"[0-9]+\.[0-9]{2}"),
    "totalizador": re.compile(r"[0-9]{1,15}"),
    "nivelFreaticoDelPozo": re.compile(r"-?[0-9]+\.[0-9]{2}"),
    "alturaLimnimetrica": re.compile(r"-?[0-9]+"),
    "fechaMedicion": re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"),
    "horaMedicion": re.compile(r"[0-9]{2}:[0-9]{2}:[0-9]{2}"),
}
BLANKABLE = ("nivelFreaticoDelPozo", "alturaLimnimetrica")


@dataclass(frozen=True)
class Registration:
    """A work the stand-in knows: its informant, and whether blank optional fields are allowed
    (Caudales muy pequeños / mining waters)."""

    informant_rut: str
    password: str
    allow_blank: bool = False


def _rut_ok(text: Any) -> bool:
    match = _RUT.fullmatch(text) if isinstance(text, str) else None
    return match is not None and check_digit(int(match.group(1))) == match.group(2)


def check_headers(headers: Mapping[str, str]) -> str | None:
    if not headers.get("Content-Type", "").startswith("application/json"):
        return "Content-Type debe ser application/json"
    code = headers.get("codigoObra")
    if code is None or CODIGO_OBRA.fullmatch(code) is None:
        return f"Header codigoObra inválido: {code!r}"
    origin = headers.get("timeStampOrigen")
    if origin is None or _ORIGIN.fullmatch(origin) is None or not _parses(origin[:19], datetime.fromisoformat):
        return f"Header timeStampOrigen inválido: {origin!r} (yyyy-MM-ddTHH:mm:ss-0000)"
    return None


def _parses(text: str, parser: Callable[[str], object]) -> bool:
    try:
        parser(text)
    except ValueError:
        return False
    return True


def check_auth(body: Any, rut_empresa: str | None) -> str | None:
    auth = body.get("autenticacion") if isinstance(body, dict) else None
    if not isinstance(auth, dict) or set(auth) != {"password", "rutEmpresa", "rutUsuario"}:
        return "autenticacion debe tener password, rutEmpresa y rutUsuario"
    if not all(isinstance(v, str) for v in auth.values()):
        return "Los valores de autenticacion deben ser texto"
    for key in ("rutEmpresa", "rutUsuario"):
        if not _rut_ok(auth[key]):
            return f"{key} inválido: {auth[key]!r} (sin puntos, con guion y dígito verificador)"
    if rut_empresa is not None and auth["rutEmpresa"] != rut_empresa:
        return f"rutEmpresa {auth['rutEmpresa']} no es un Centro de Control registrado"
    return None


def check_measurement(work_type: WorkType, body: Any, allow_blank: bool) -> str | None:
    key = MEDICION_KEY[work_type]
    measurement = body.get(key)
    extra = set(body) - {"autenticacion", key}
    if not isinstance(measurement, dict) or extra:
        return f"El cuerpo debe tener autenticacion y {key}"
    if set(measurement) != set(FIELDS[work_type]):
        return f"{key} debe tener exactamente {', '.join(FIELDS[work_type])}"
    for name, value in measurement.items():
        problem = _field_problem(name, value, allow_blank)
        if problem:
            return problem
    return None


def _field_problem(name: str, value: Any, allow_blank: bool) -> str | None:
    if not isinstance(value, str):
        return f"{name} debe ser texto, se recibió {type(value).__name__}"
    if value == "" and name in BLANKABLE and allow_blank:
        return None
    if _FORMATS[name].fullmatch(value) is None:
        return f"{name} con formato inválido: {value!r}"
    if name == "fechaMedicion" and not _parses(value, date.fromisoformat):
        return f"fechaMedicion no es una fecha: {value!r}"
    if name == "horaMedicion" and not _parses(value, time.fromisoformat):
        return f"horaMedicion no es una hora: {value!r}"
    return None


def check_informant(registration: Registration | None, body: Any) -> str | None:
    auth = body["autenticacion"]
    sent = (auth["rutUsuario"], auth["password"])
    if registration is None or sent != (registration.informant_rut, registration.password):
        return NOT_INFORMANT
    return None
