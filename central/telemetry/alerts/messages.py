"""Plain Spanish texts for operators: what happened, with the numbers that matter.

Kept apart from evaluation so wording can change without touching the logic. Texts
never name the point or gateway: the notification puts the subject in front.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .terms import Direction

VARIABLE_NAMES = {"flow": "Caudal", "level": "Nivel", "water_table": "Nivel freático", "totalizer": "Totalizador"}


def number(value: float, digits: int = 1) -> str:
    return f"{value:.{digits}f}"


def factor(value: float) -> str:
    """``1.0``, ``1.15``: a tolerance factor as people write it."""
    text = f"{value:g}"
    return text if "." in text else f"{value:.1f}"


def duration(minutes: float) -> str:
    """``10 min``, ``2 h``, ``1.5 h``, ``3 d``: the largest unit that reads naturally."""
    if minutes < 120:
        return f"{minutes:g} min"
    if minutes < 72 * 60:
        return f"{round(minutes / 60, 1):g} h"
    return f"{round(minutes / 1440, 1):g} d"


def during(minutes: float) -> str:
    return f" durante {duration(minutes)}" if minutes > 0 else ""


def utc(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC")


def flow_above(value: float, right: float, tolerance: float, minutes: float) -> str:
    return f"Caudal {number(value)} L/s sobre el derecho {number(right)} L/s × {factor(tolerance)}{during(minutes)}"


def flow_back(value: float, right: float, tolerance: float) -> str:
    return f"Caudal {number(value)} L/s de nuevo dentro del derecho {number(right)} L/s × {factor(tolerance)}"


def threshold_crossed(variable: str, value: float, direction: Direction, limit: float, minutes: float) -> str:
    relation = "mayor que" if direction is Direction.ABOVE else "menor que"
    name = VARIABLE_NAMES.get(variable, variable)
    return f"{name} {number(value, 2)} m {relation} el umbral {number(limit, 2)} m{during(minutes)}"


def threshold_back(variable: str, value: float, limit: float) -> str:
    name = VARIABLE_NAMES.get(variable, variable)
    return f"{name} {number(value, 2)} m de nuevo dentro del umbral {number(limit, 2)} m"


def silent(last_seen: datetime, now: datetime) -> str:
    minutes = (now - last_seen) / timedelta(minutes=1)
    return f"Sin datos hace {duration(int(minutes))} (último dato {utc(last_seen)})"


def back_online(last_seen: datetime) -> str:
    return f"Vuelve a transmitir (último dato {utc(last_seen)})"


def frozen(value: float, cutoff: float, minutes: float) -> str:
    return (
        f"Totalizador detenido en {number(value, 3)} m³ con caudal sobre el corte {number(cutoff)} L/s{during(minutes)}"
    )


def totalizer_moving(value: float) -> str:
    return f"Totalizador avanza de nuevo ({number(value, 3)} m³)"


def constant(variables: list[str], hours: float) -> str:
    names = ", ".join(VARIABLE_NAMES.get(v, v) for v in variables)
    return f"Valor constante{during(hours * 60)}: {names}"


def constant_over() -> str:
    return "Las variables vuelven a cambiar"


def totalizer_decreased(before: float, after: float) -> str:
    return f"Totalizador bajó de {number(before, 3)} a {number(after, 3)} m³ (reinicio, cambio de medidor o modo neto)"


def totalizer_steady(minutes: float) -> str:
    return f"Totalizador sin retrocesos{during(minutes)}"


def clock_off(offset_s: float, tolerance_s: float) -> str:
    side = "adelantado" if offset_s > 0 else "atrasado"
    return f"Reloj del gateway {side} {abs(offset_s):.0f} s (tolerancia {tolerance_s:g} s)"


def clock_ok(offset_s: float) -> str:
    return f"Reloj del gateway de nuevo en hora (diferencia {abs(offset_s):.0f} s)"


def buffer_dropped(dropped: int, total: int) -> str:
    return f"El buffer del gateway descartó {dropped} lecturas (total descartado {total})"


def buffer_ok(minutes: float) -> str:
    return f"El buffer del gateway no descarta lecturas{during(minutes)}"


def submission_failing(regulator: str, since: datetime, error: str | None) -> str:
    """``regulator``: as a sentence names it (``la DGA``, :class:`central.regulators.Regulators`)."""
    detail = f": {error}" if error else ""
    return f"Los envíos a {regulator} fallan desde {utc(since)}{detail}"


def submissions_ok() -> str:
    return "Los envíos al regulador vuelven a funcionar"


def submission_refused(regulator: str, count: int) -> str:
    return f"{count} envío(s) a {regulator} rechazado(s) sin posibilidad de reintento"


def submissions_resolved() -> str:
    return "No quedan envíos rechazados sin resolver"


def submission_late(regulator: str, due: datetime, now: datetime) -> str:
    hours = (now - due) / timedelta(hours=1)
    return f"Envío a {regulator} atrasado {hours:.0f} h (pendiente desde {utc(due)})"


def submissions_on_time() -> str:
    return "Los envíos al regulador están al día"


COMPLIANCE_EVENTS = {
    "work.blocked": "Envíos a {regulator} detenidos: {regulator} rechazó al informante de la obra. Corrija el RUT o la clave"
    " del informante en la configuración de la obra para reanudarlos",
    "submission.needs_review": "{count} envío(s) a {regulator} respondido(s) sin comprobante: búsquelos en SNIA"
    " antes de decidir",
    "submission.check_not_found": "{count} comprobante(s) que {regulator} no muestra al consultarlos: búsquelos"
    " en SNIA",
    "submission.error": "{count} medición(es) para {regulator} no se pueden formatear: revise los valores",
    "submission.late_reply": "{count} respuesta(s) de {regulator} llegaron después de que el envío cambió de estado:"
    " revise el envío",
    "submission.held": "{count} medición(es) para {regulator} retenida(s) por un valor imposible: apruébela(s),"
    " corríjala(s) con un motivo o descártela(s) antes del plazo de envío",
    "submission.check_mismatch": "{count} medición(es) que {regulator} guardó con valores distintos de los enviados:"
    " compárelas en SNIA",
}
COMPLIANCE_RESOLVED = {
    "work.blocked": "Los envíos de la obra se reanudan",
    "submission.needs_review": "No quedan envíos respondidos sin comprobante por revisar",
    "submission.check_not_found": "No quedan comprobantes sin confirmar",
    "submission.held": "No quedan mediciones retenidas por revisar",
    "submission.check_mismatch": "No quedan mediciones con valores distintos por revisar",
}


def compliance_event(kind: str, regulator: str, count: int, detail: str) -> str:
    """What a person must do about ``count`` compliance events of ``kind`` for ``regulator`` (as a
    sentence names it), with the newest one's text."""
    text = COMPLIANCE_EVENTS.get(kind, "{count} evento(s) de cumplimiento " + kind + " requieren atención")
    return f"{text.format(regulator=regulator, count=count)}. Detalle: {detail}"


def compliance_resolved(kind: str) -> str:
    return COMPLIANCE_RESOLVED.get(kind, f"Resuelto: ya no quedan eventos {kind} pendientes")
