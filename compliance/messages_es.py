"""Compliance's refusals in Spanish, the operators' language (central's are in
``central/messages_es.py``; the ``code`` of an error stays an English identifier).

One function per refusal, so the wording lives here and the modules that refuse say only which
refusal it is. Field names, states and values stay as the API writes them (``review``,
``informant_password``), since that is what a person sends back.
"""

from __future__ import annotations


def no_submission(submission_id: int) -> str:
    return f"no hay un envío {submission_id}"


VERBS = {
    "approve": "aprobar",
    "correct": "corregir",
    "discard": "descartar",
    "confirm": "confirmar",
    "requeue": "reenviar",
    "recheck": "volver a consultar",
}


def not_allowed(submission_id: int, state: str, verb: str, allowed: str, check_result: str | None = "") -> str:
    """A decision the slot's state does not allow, naming the states that do."""
    check = "" if check_result == "" else f" con check_result {check_result}"
    return (
        f"el envío {submission_id} está en estado {state}{check}; {VERBS.get(verb, verb)} solo se permite"
        f" a un envío en estado {allowed}"
    )


def changed_meanwhile(what: object) -> str:
    return f"el envío {what} cambió mientras tanto; léalo de nuevo y decida"


def plausible_not_discarded(submission_id: int, state: str, allowed: str) -> str:
    return (
        f"el envío {submission_id} está en estado {state}: sus valores pasaron los controles de plausibilidad,"
        " y una medición plausible se declara como se midió, nunca se descarta (corríjala con un motivo si"
        f" está mal); descartar solo se permite a un envío en estado {allowed}"
    )


def no_configuration(code: str, title: str) -> str:
    return f"el punto {code} no tiene configuración {title}"


def secret_required(field: str) -> str:
    return f"{field}: obligatorio en una configuración nueva"


def secret_key_missing(problem: object) -> str:
    return f"{problem}: el servidor no puede guardar ni usar las claves de los reguladores"


def secret_undecryptable(problem: object) -> str:
    return f"{problem}; envíe la clave de nuevo"


def bad_month(month: str) -> str:
    return f"el mes {month!r} no tiene la forma aaaa-mm (por ejemplo 2026-11)"


def rut_empresa_missing() -> str:
    return (
        "CAUDAL_DGA_RUT_EMPRESA (el RUT del Centro de Control) no está configurado en el servidor; una obra"
        " DGA solo puede configurarse en modo off"
    )


def kind_mismatch(work_type: str, code: str, kind: str) -> str:
    return f"work_type: {work_type} no corresponde al punto {code}, de tipo {kind}"


def unformattable(problem: object) -> str:
    return f"values: {problem}"


def dialect_is_csv() -> str:
    return "dialect solo se aplica al CSV; quítelo o pida format=csv"
