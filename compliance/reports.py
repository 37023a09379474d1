"""The monthly compliance report of one DGA work (CSV and XLSX).

Every slot of the month (on the DGA's UTC-4 calendar) with the values declared, its state
and comprobante with the public SNIA link; gaps (``no_data``) and slots never evaluated are
listed as such, never filled. The informe de fallas lists the slots not accepted within the
allowed delay (:func:`compliance.ledger.missed_deadlines`). The month's extracted volume
(from the totalizer, bridging meter swaps) is set against the water right
(``water_right_lps`` x seconds in the month / 1000 m3).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from central.db import Connection
from central.errors import ApiError
from compliance.config_store import stored_dga_settings
from compliance.dga.format import format_fecha, format_hora
from compliance.dga.slots import DGA_TZ, slots_between
from compliance.dga.values import as_decimal
from compliance.ledger import MissedSlot, SlotRecord, State, missed_deadlines
from compliance.readings import volume_in

SNIA_URL = "https://snia.mop.gob.cl/cExtracciones2/#/consultaQR/{codigo}"
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
MEASUREMENT_COLUMNS = ("caudal", "totalizador", "nivelFreaticoDelPozo", "alturaLimnimetrica")
SLOT_HEADER = ("slot_utc", "fecha_medicion", "hora_medicion", "state", *MEASUREMENT_COLUMNS, "comprobante",
               "snia_link", "missed_deadline")
MISSED_HEADER = ("slot_utc", "fecha_medicion", "hora_medicion", "deadline_utc", "state")


@dataclass(frozen=True)
class MonthReport:
    slot_rows: list[tuple[str, ...]]
    missed: list[MissedSlot]
    summary: list[tuple[str, str]]


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The month ``yyyy-mm`` on the DGA's UTC-4 calendar, as UTC instants [start, end)."""
    match = _MONTH.match(month)
    if match is None:
        raise ApiError(422, f"month {month!r} is not yyyy-mm", details=[{"loc": ["path", "month"], "msg": "yyyy-mm"}])
    year, number = int(match[1]), int(match[2])
    start = datetime(year, number, 1, tzinfo=DGA_TZ)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=DGA_TZ)
    return start, end


def _iso(t: datetime | None) -> str:
    return "" if t is None else t.isoformat().replace("+00:00", "Z")


def _slot_row(slot: datetime, row: dict[str, Any] | None, codigo: str, missed: bool) -> tuple[str, ...]:
    measurement = json.loads(row["measurement"]) if row and row["measurement"] and row["state"] != "no_data" else {}
    comprobante = (row or {}).get("comprobante") or ""
    state = row["state"] if row else "not_evaluated"
    return (_iso(slot), format_fecha(slot), format_hora(slot), state,
            *(str(measurement.get(name, "")) for name in MEASUREMENT_COLUMNS), comprobante,
            SNIA_URL.format(codigo=codigo) if comprobante else "", "yes" if missed else "")


def _quantity(value: Decimal | None, places: str = "0.01") -> str:
    return "" if value is None else f"{value.quantize(Decimal(places), rounding=ROUND_HALF_UP):f}"


def _volume_summary(conn: Connection, point: dict[str, Any], start: datetime, end: datetime) -> list[tuple[str, str]]:
    seconds = Decimal(int((end - start).total_seconds()))
    volume, span = volume_in(conn, point["id"], start, end)
    right = point.get("water_right_lps")
    right_m3 = None if right is None else as_decimal(right) * seconds / 1000
    share = None if volume is None or not right_m3 else volume * 100 / right_m3
    return [("seconds_in_month", str(seconds)), ("volume_extracted_m3", _quantity(volume)),
            ("volume_basis", span), ("water_right_lps", "" if right is None else str(as_decimal(right))),
            ("water_right_volume_m3", _quantity(right_m3)), ("extracted_percent_of_right", _quantity(share))]


def build_report(conn: Connection, point: dict[str, Any], month: str, now: datetime) -> MonthReport:
    """Everything the month's report shows, as text cells."""
    stored = stored_dga_settings(conn, point["id"])
    if stored is None:
        raise ApiError(404, f"point {point['code']} has no DGA configuration")
    config, mode = stored
    start, end = month_bounds(month)
    slots = [s for s in slots_between(start, end - timedelta(microseconds=1), config.transmission_period)
             if config.active_at(s)]
    rows = {row["slot"]: row for row in conn.fetchall(
        "SELECT * FROM compliance_submissions WHERE point_id = :p AND regulator = 'dga' AND slot >= :start"
        " AND slot < :end", {"p": point["id"], "start": start, "end": end})}
    records = {slot: SlotRecord(slot, State(row["state"]), row["accepted_at"]) for slot, row in rows.items()}
    missed = missed_deadlines(slots, records, now) if mode == "live" else []
    missed_slots = {m.slot for m in missed}
    slot_rows = [_slot_row(slot, rows.get(slot), config.codigo_obra, slot in missed_slots) for slot in slots]
    states = [row[3] for row in slot_rows]
    summary = [("point", point["code"]), ("codigo_obra", config.codigo_obra), ("month", month), ("mode", mode),
               ("period", config.transmission_period.value), ("slots", str(len(slots))),
               *((f"slots_{state}", str(states.count(state))) for state in sorted(set(states))),
               ("missed_deadlines", str(len(missed))), *_volume_summary(conn, point, start, end)]
    return MonthReport(slot_rows, missed, summary)


def _missed_rows(report: MonthReport) -> list[tuple[str, ...]]:
    return [(_iso(m.slot), format_fecha(m.slot), format_hora(m.slot), _iso(m.deadline),
             m.state.value if m.state else "not_evaluated") for m in report.missed]


def to_csv(report: MonthReport) -> str:
    """Three sections separated by a blank line: slots, informe de fallas, summary."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows([SLOT_HEADER, *report.slot_rows, (), ("informe_de_fallas",), MISSED_HEADER,
                      *_missed_rows(report), (), ("summary", "value"), *report.summary])
    return out.getvalue()


def to_xlsx(report: MonthReport) -> bytes:
    """One sheet per section: Slots, Fallas, Resumen."""
    from openpyxl import Workbook

    book = Workbook()
    sheets = (("Slots", SLOT_HEADER, report.slot_rows), ("Fallas", MISSED_HEADER, _missed_rows(report)),
              ("Resumen", ("summary", "value"), report.summary))
    for index, (title, header, rows) in enumerate(sheets):
        sheet = book.active if index == 0 else book.create_sheet()
        sheet.title = title
        sheet.append(list(header))
        for row in rows:
            sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
