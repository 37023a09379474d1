"""Downloads of a point's readings and aggregates, chosen with ``?format=``: ``csv`` (in a
``?dialect=``, see :mod:`central.csv_dialects`) for programs and spreadsheets, ``xlsx`` for a
person.

The CSV keeps the API's names and UTC times (``Z``), so that a program reads it as it reads
the JSON. The XLSX is for an operator: Spanish headers, times as dates on the clock of the
request's zone (Excel has no offsets, the header names the zone), numbers as numbers, variable
and quality names in Spanish, no bucket that has not begun.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from central import spreadsheet
from central.csv_dialects import Dialect, write_rows
from central.db import Database
from central.telemetry.queries import ReadingFilter, iso_z, reading_chunks

DataFormat = Literal["json", "csv", "xlsx"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "xlsx": XLSX}

VARIABLES = {"flow": "caudal", "totalizer": "totalizador", "level": "nivel", "water_table": "nivel freático"}
QUALITIES = {
    "good": "buena",
    "clock_unsynced": "reloj sin sincronizar",
    "timeout": "sin respuesta",
    "device_error": "error del equipo",
    "decode_error": "valor ilegible",
    "out_of_range": "fuera de rango",
}
NOTES = {"cutoff": "bajo el corte", "reset": "reinicio del totalizador", "derived": "calculado"}

READING_FIELDS = {
    "variable": "Variable",
    "value": "Valor",
    "unit": "Unidad",
    "quality": "Calidad",
    "flags": "Notas",
    "raw_value": "Valor enviado por el medidor",
}
"""A reading's cells after its time, in the workbook's order: the field, the Spanish header."""
AGGREGATE_FIGURES = {
    "flow_min_lps": "Caudal mínimo (L/s)",
    "flow_max_lps": "Caudal máximo (L/s)",
    "flow_avg_lps": "Caudal medio (L/s)",
    "volume_m3": "Volumen extraído (m³)",
    "level_min_m": "Nivel mínimo (m)",
    "level_max_m": "Nivel máximo (m)",
    "water_table_min_m": "Nivel freático mínimo (m)",
    "water_table_max_m": "Nivel freático máximo (m)",
    "readings": "Lecturas",
    "missing_minutes": "Minutos sin datos",
}
"""A bucket's figures after its start and end: the JSON's field name, the workbook's Spanish header."""
AGGREGATE_COLUMNS = ("start", "end", *AGGREGATE_FIGURES)


def attachment_name(code: str, what: str, data_format: str) -> dict[str, str]:
    """The ``Content-Disposition`` header of a download."""
    return {"Content-Disposition": f'attachment; filename="{code}-{what}.{data_format}"'}


def readings_header(zone: ZoneInfo) -> tuple[str, ...]:
    return (f"Fecha y hora ({zone.key})", *READING_FIELDS.values())


def readings_xlsx(db: Database, selection: ReadingFilter, limit: int | None, zone: ZoneInfo) -> bytes:
    """The selection (at most ``limit`` rows) as one sheet, oldest first."""
    cells = _reading_cells(db, selection, limit, zone)
    return spreadsheet.workbook(spreadsheet.Sheet("Lecturas", readings_header(zone), cells))


def _reading_cells(db: Database, selection: ReadingFilter, limit: int | None, zone: ZoneInfo) -> Iterator[list[Any]]:
    for rows in reading_chunks(db, selection, limit):
        for row in rows:
            flags = row["flags"]
            shown = {
                **row,
                "variable": VARIABLES.get(row["variable"], row["variable"]),
                "quality": QUALITIES.get(row["quality"], row["quality"]),
                "flags": ", ".join(NOTES.get(flag, flag) for flag in flags.split(",")) if flags else None,
            }
            yield [_local(row["ts"], zone), *(shown[name] for name in READING_FIELDS)]


def begun(items: Sequence[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """The buckets that have begun by ``now`` (a report has no rows of the future)."""
    return [item for item in items if item["start"] <= now]


def aggregates_csv(items: Sequence[dict[str, Any]], dialect: Dialect) -> str:
    """One row per bucket, the JSON's field names as header, times in UTC."""
    return write_rows(
        [AGGREGATE_COLUMNS, *([_csv_cell(item[name]) for name in AGGREGATE_COLUMNS] for item in items)], dialect
    )


def aggregates_xlsx(items: Sequence[dict[str, Any]], zone: ZoneInfo) -> bytes:
    """One sheet, one row per bucket, its start and end on ``zone``'s clock."""
    header = (f"Inicio ({zone.key})", f"Fin ({zone.key})", *AGGREGATE_FIGURES.values())
    rows = (
        [_local(item["start"], zone), _local(item["end"], zone), *(item[name] for name in AGGREGATE_FIGURES)]
        for item in items
    )
    return spreadsheet.workbook(spreadsheet.Sheet("Agregados", header, rows))


def _local(ts: datetime, zone: ZoneInfo) -> datetime:
    return ts.astimezone(zone).replace(tzinfo=None)


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    return iso_z(value) if isinstance(value, datetime) else value
