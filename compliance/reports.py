"""The monthly compliance report of one DGA work (CSV and XLSX).

Every slot of the month (on the DGA's UTC-4 calendar) with the values declared, its state
and comprobante with the public SNIA link; gaps (``no_data``) and slots never evaluated are
listed as such, never filled; a value a person corrected says so, with who, when and why. The
informe de fallas lists the slots not accepted within the allowed delay
(:func:`compliance.ledger.missed_deadlines`) with their cause (:mod:`compliance.failures`); it is
also served alone. In the XLSX, numbers are numbers and times are times (UTC-4, the DGA's
clock), each sheet's header is frozen and filterable, headers are Spanish and the SNIA page is a
link; slots still to come have no row. The month's extracted volume
(from the totalizer, bridging meter swaps) is set against the water right
(``water_right_lps`` x seconds in the month / 1000 m3).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from central.csv_dialects import Dialect, write_rows
from central.db import Connection
from central.problems import Invalid, NotFound
from central.spreadsheet import Link, Sheet, workbook
from compliance import messages_es as es
from compliance.config_store import is_blocked, stored_settings
from compliance.dga.format import format_fecha, format_hora
from compliance.dga.regulator import DGA as DGA_REGULATOR
from compliance.dga.slots import DGA_TZ, deadline, slots_between, to_dga_time
from compliance.failures import DGA, HOLDER, STATE_NAMES, Failure, failures
from compliance.ledger import SlotRecord, State, missed_deadlines
from compliance.readings import volume_in
from compliance.samples import as_decimal

SNIA_URL = "https://snia.mop.gob.cl/cExtracciones2/#/consultaQR/{codigo}"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"  # the DGA's slots are on the minute; seconds would be noise
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
MEASUREMENT_COLUMNS = ("caudal", "totalizador", "nivelFreaticoDelPozo", "alturaLimnimetrica")
SLOT_HEADER = (
    "slot_utc",
    "fecha_medicion",
    "hora_medicion",
    "state",
    *MEASUREMENT_COLUMNS,
    "comprobante",
    "snia_link",
    "missed_deadline",
    "correction",
)
FAILURE_HEADER = ("Medición (UTC-4)", "Plazo (UTC-4)", "Aceptada (UTC-4)", "Estado", "Causa", "Responsable", "Detalle")
SLOT_SHEET_HEADER = (
    "Medición (UTC-4)",
    "Fecha DGA",
    "Hora DGA",
    "Estado",
    "Caudal (L/s)",
    "Totalizador (m³)",
    "Nivel freático (m)",
    "Altura limnimétrica (m)",
    "Comprobante",
    "SNIA",
    "Fuera de plazo",
    "Corrección",
)
SUMMARY_NAMES = {
    "point": "Punto",
    "codigo_obra": "Código de obra",
    "month": "Mes",
    "mode": "Modo",
    "period": "Periodo",
    "slots": "Mediciones del mes hasta hoy",
    "missed_deadlines": "Fuera de plazo",
    "seconds_in_month": "Segundos del mes",
    "volume_extracted_m3": "Volumen extraído (m³)",
    "volume_basis": "Base del volumen",
    "water_right_lps": "Derecho de agua (L/s)",
    "water_right_volume_m3": "Volumen del derecho (m³)",
    "extracted_percent_of_right": "Extraído (% del derecho)",
}


@dataclass(frozen=True)
class MonthReport:
    slot_rows: list[tuple[str, ...]]
    failures: list[Failure]
    summary: list[tuple[str, str]]


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The month ``yyyy-mm`` on the DGA's UTC-4 calendar, as UTC instants [start, end)."""
    match = _MONTH.match(month)
    if match is None:
        raise Invalid(es.bad_month(month), details=[{"loc": ["path", "month"], "msg": "aaaa-mm"}])
    year, number = int(match[1]), int(match[2])
    start = datetime(year, number, 1, tzinfo=DGA_TZ)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=DGA_TZ)
    return start, end


def _iso(t: datetime | None) -> str:
    return "" if t is None else t.isoformat().replace("+00:00", "Z")


def correction(row: dict[str, Any] | None) -> str:
    """ "corrected by X on T: reason" for a slot whose values a person corrected, else ""."""
    if not row or not row["corrected_values"]:
        return ""
    values = ", ".join(f"{k}={v}" for k, v in json.loads(row["corrected_values"]).items())
    return f"corrected by {row['reviewed_by']} on {_iso(row['reviewed_at'])} ({values}): {row['review_reason']}"


def _slot_row(slot: datetime, row: dict[str, Any] | None, codigo: str, missed: bool) -> tuple[str, ...]:
    measurement = json.loads(row["measurement"]) if row and row["measurement"] and row["state"] != "no_data" else {}
    comprobante = (row or {}).get("comprobante") or ""
    state = row["state"] if row else "not_evaluated"
    return (
        _iso(slot),
        format_fecha(slot),
        format_hora(slot),
        state,
        *(str(measurement.get(name, "")) for name in MEASUREMENT_COLUMNS),
        comprobante,
        SNIA_URL.format(codigo=codigo) if comprobante else "",
        "yes" if missed else "",
        correction(row),
    )


def _quantity(value: Decimal | None, places: str = "0.01") -> str:
    return "" if value is None else f"{value.quantize(Decimal(places), rounding=ROUND_HALF_UP):f}"


def _volume_summary(conn: Connection, point: dict[str, Any], start: datetime, end: datetime) -> list[tuple[str, str]]:
    seconds = Decimal(int((end - start).total_seconds()))
    volume, span = volume_in(conn, point["id"], start, end)
    right = point.get("water_right_lps")
    right_m3 = None if right is None else as_decimal(right) * seconds / 1000
    share = None if volume is None or not right_m3 else volume * 100 / right_m3
    return [
        ("seconds_in_month", str(seconds)),
        ("volume_extracted_m3", _quantity(volume)),
        ("volume_basis", span),
        ("water_right_lps", "" if right is None else str(as_decimal(right))),
        ("water_right_volume_m3", _quantity(right_m3)),
        ("extracted_percent_of_right", _quantity(share)),
    ]


def build_report(conn: Connection, point: dict[str, Any], month: str, now: datetime) -> MonthReport:
    """Everything the month's report shows, as text cells."""
    stored = stored_settings(conn, point["id"], DGA_REGULATOR)
    if stored is None:
        raise NotFound(es.no_configuration(point["code"], DGA_REGULATOR.title))
    config, mode = stored
    start, end = month_bounds(month)
    slots = [
        s
        for s in slots_between(start, end - timedelta(microseconds=1), config.transmission_period)
        if config.active_at(s) and s <= now
    ]  # a slot still to come has no row
    rows = {
        row["slot"]: row
        for row in conn.fetchall(
            "SELECT * FROM compliance_submissions WHERE point_id = :p AND regulator = :r AND slot >= :start"
            " AND slot < :end",
            {"p": point["id"], "r": DGA_REGULATOR.name, "start": start, "end": end},
        )
    }
    records = {slot: SlotRecord(slot, State(row["state"]), row["accepted_at"]) for slot, row in rows.items()}
    missed = missed_deadlines(slots, records, now, deadline) if mode == "live" else []
    missed_slots = {m.slot for m in missed}
    found = failures(conn, missed, rows, is_blocked(conn, point["id"], DGA_REGULATOR.name))
    slot_rows = [_slot_row(slot, rows.get(slot), config.codigo_obra, slot in missed_slots) for slot in slots]
    states = [row[3] for row in slot_rows]
    summary = [
        ("point", point["code"]),
        ("codigo_obra", config.codigo_obra),
        ("month", month),
        ("mode", mode),
        ("period", config.transmission_period.value),
        ("slots", str(len(slots))),
        *((f"slots_{state}", str(states.count(state))) for state in sorted(set(states))),
        ("missed_deadlines", str(len(missed))),
        *((f"missed_{who.lower()}", str(sum(f.cause.responsible == who for f in found))) for who in (HOLDER, DGA)),
        *_volume_summary(conn, point, start, end),
    ]
    return MonthReport(slot_rows, found, summary)


def _local(t: datetime | None) -> datetime | None:
    """A time on the DGA's UTC-4 clock, without the zone (spreadsheets hold naive date-times)."""
    return None if t is None else to_dga_time(t).replace(tzinfo=None)


def failure_cells(failure: Failure) -> tuple[datetime | str | None, ...]:
    """One line of the informe de fallas: times as date-times (UTC-4), the rest as text."""
    return (
        _local(failure.slot),
        _local(failure.deadline),
        _local(failure.accepted_at),
        STATE_NAMES.get(failure.state, failure.state),
        failure.cause.text,
        failure.cause.responsible,
        failure.cause.detail,
    )


def _text(cell: datetime | str | None) -> str:
    return "" if cell is None else cell.strftime("%Y-%m-%d %H:%M") if isinstance(cell, datetime) else cell


def _failure_rows(report: MonthReport) -> list[Sequence[str]]:
    return [FAILURE_HEADER, *([_text(c) for c in failure_cells(f)] for f in report.failures)]


def failures_csv(report: MonthReport, dialect: Dialect = "csv") -> str:
    """The informe de fallas alone (header first), times as YYYY-MM-DD HH:MM on the UTC-4 clock."""
    return write_rows(_failure_rows(report), dialect)


def to_csv(report: MonthReport, dialect: Dialect = "csv") -> str:
    """Three sections separated by a blank line: slots, informe de fallas, summary."""
    return write_rows(
        [
            SLOT_HEADER,
            *report.slot_rows,
            (),
            ("informe_de_fallas",),
            *_failure_rows(report),
            (),
            ("summary", "value"),
            *report.summary,
        ],
        dialect,
    )


def to_xlsx(report: MonthReport) -> bytes:
    """One sheet per section, for a person: Mediciones, Fallas, Resumen (Spanish headers, times
    as date-times on the DGA's UTC-4 clock, numbers as numbers, the SNIA page as a link)."""
    return workbook(
        Sheet("Mediciones", SLOT_SHEET_HEADER, [_slot_cells(row) for row in report.slot_rows]),
        _failure_sheet(report),
        Sheet("Resumen", ("Dato", "Valor"), [[_summary_name(k), _number(v)] for k, v in report.summary]),
        datetime_format=DATETIME_FORMAT,
    )


def _slot_cells(row: tuple[str, ...]) -> list[Any]:
    slot, fecha, hora, state, *rest = row
    measurements, (comprobante, link, missed, corrected) = rest[:4], rest[4:]
    return [
        _local(datetime.fromisoformat(slot)),
        fecha,
        hora,
        _STATES_SHOWN.get(state, state),
        *(_number(value) for value in measurements),
        comprobante,
        Link("Ver en SNIA", link) if link else None,
        "sí" if missed else "",
        corrected,
    ]


_STATES_SHOWN = {**{key: name for key, name in STATE_NAMES.items() if key}, "not_evaluated": STATE_NAMES[None]}


def _summary_name(key: str) -> str:
    if key.startswith("slots_"):
        return f"Mediciones: {_STATES_SHOWN.get(key[6:], key[6:])}"
    if key.startswith("missed_"):
        return f"Fuera de plazo, responsable {key[7:]}"
    return SUMMARY_NAMES.get(key, key)


def failures_xlsx(report: MonthReport) -> bytes:
    """The informe de fallas alone, one sheet."""
    return workbook(_failure_sheet(report), datetime_format=DATETIME_FORMAT)


def _failure_sheet(report: MonthReport) -> Sheet:
    return Sheet("Fallas", FAILURE_HEADER, [list(failure_cells(f)) for f in report.failures])


def _number(text: str) -> Decimal | str | None:
    """A numeric cell as a number (an empty one as empty), anything else as text."""
    if text == "":
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return text
