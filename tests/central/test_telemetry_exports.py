"""Downloads of readings and aggregates: ?format=csv|xlsx, ?dialect=excel-es, whole outputs."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook

from tests.central.telemetry_support import batch, noon_readings

NOW = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)
RANGE = {"from_": "2026-11-28T12:00:00Z", "to": "2026-11-28T13:00:00Z"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def loaded(site):
    readings = noon_readings(10.5, 12.0)
    assert site.ingest(batch(readings, NOW)).status_code == 200
    return site


def _sheet(content: bytes) -> tuple[object, list[tuple[object, ...]]]:
    sheet = load_workbook(io.BytesIO(content)).active
    return sheet, [tuple(cell.value for cell in row) for row in sheet.iter_rows()]


def test_readings_for_a_spreadsheet_set_to_spanish(loaded):
    response = loaded.get("/api/v1/points/P1/readings", **RANGE, format="csv", dialect="excel-es")
    assert (response.status_code, response.headers["content-type"], response.headers["content-disposition"]) == (
        200,
        "text/csv; charset=utf-8",
        'attachment; filename="P1-lecturas.csv"',
    )
    assert response.content.decode("utf-8") == (
        "\ufeffsep=;\n"
        "ts;variable;value;unit;quality;flags;raw_value\n"
        "2026-11-28T12:00:00Z;flow;0,0;L/s;good;cutoff;0,2\n"
        "2026-11-28T12:00:00Z;level;20,0;m;good;;\n"
        "2026-11-28T12:00:00Z;water_table;30,0;m;good;derived;\n"
        "2026-11-28T12:01:00Z;flow;7,25;L/s;good;;\n"
        "2026-11-28T12:01:00Z;totalizer;10,5;m3;good;;\n"
        "2026-11-28T12:02:00Z;level;;m;timeout;;\n"
        "2026-11-28T12:02:00Z;totalizer;12,0;m3;good;;\n"
        "2026-11-28T12:02:00Z;water_table;;m;timeout;derived;\n"
    )


def test_readings_csv_by_default_is_the_plain_dialect(loaded):
    response = loaded.get("/api/v1/points/P1/readings", **RANGE, format="csv", variable="flow")
    assert response.content == (
        b"ts,variable,value,unit,quality,flags,raw_value\n"
        b"2026-11-28T12:00:00Z,flow,0.0,L/s,good,cutoff,0.2\n"
        b"2026-11-28T12:01:00Z,flow,7.25,L/s,good,,\n"
    )


def test_readings_as_a_workbook_a_person_reads(loaded):
    response = loaded.get("/api/v1/points/P1/readings", **RANGE, format="xlsx")
    assert (response.status_code, response.headers["content-type"], response.headers["content-disposition"]) == (
        200,
        XLSX,
        'attachment; filename="P1-lecturas.xlsx"',
    )
    sheet, rows = _sheet(response.content)
    local = datetime(2026, 11, 28, 9, 0)  # America/Santiago in summer: UTC-3
    assert rows == [
        (
            "Fecha y hora (America/Santiago)",
            "Variable",
            "Valor",
            "Unidad",
            "Calidad",
            "Notas",
            "Valor enviado por el medidor",
        ),
        (local, "caudal", 0, "L/s", "buena", "bajo el corte", 0.2),
        (local, "nivel", 20, "m", "buena", None, None),
        (local, "nivel freático", 30, "m", "buena", "calculado", None),
        (local + timedelta(minutes=1), "caudal", 7.25, "L/s", "buena", None, None),
        (local + timedelta(minutes=1), "totalizador", 10.5, "m3", "buena", None, None),
        (local + timedelta(minutes=2), "nivel", None, "m", "sin respuesta", None, None),
        (local + timedelta(minutes=2), "totalizador", 12, "m3", "buena", None, None),
        (local + timedelta(minutes=2), "nivel freático", None, "m", "sin respuesta", "calculado", None),
    ]
    assert (sheet.title, sheet.freeze_panes, sheet.auto_filter.ref, sheet["A2"].number_format) == (
        "Lecturas",
        "A2",
        "A1:G9",
        "yyyy-mm-dd hh:mm:ss",
    )
    assert sheet["A1"].font.b
    assert [sheet.column_dimensions[c].width for c in "ABCDEFG"] == [33, 16, 7, 8, 15, 15, 30]


def test_aggregates_for_a_spreadsheet_set_to_spanish_leave_out_the_hours_to_come(loaded):
    loaded.clock.set(datetime(2026, 11, 28, 13, 30, tzinfo=UTC))
    response = loaded.aggregates(
        "2026-11-28T11:00:00Z", "2026-11-28T16:00:00Z", bucket="hour", format="csv", dialect="excel-es"
    )
    assert (response.status_code, response.headers["content-disposition"]) == (
        200,
        'attachment; filename="P1-agregados.csv"',
    )
    assert response.content.decode("utf-8") == (
        "\ufeffsep=;\n"
        "start;end;flow_min_lps;flow_max_lps;flow_avg_lps;volume_m3;level_min_m;level_max_m;water_table_min_m;"
        "water_table_max_m;readings;missing_minutes\n"
        "2026-11-28T11:00:00Z;2026-11-28T12:00:00Z;;;;;;;;;0;60,0\n"
        "2026-11-28T12:00:00Z;2026-11-28T13:00:00Z;0,0;7,25;3,625;1,5;20,0;20,0;30,0;30,0;8;57,0\n"
        "2026-11-28T13:00:00Z;2026-11-28T14:00:00Z;;;;;;;;;0;30,0\n"
    )


def test_aggregates_as_a_workbook_on_the_zones_clock(loaded):
    response = loaded.aggregates("2026-11-28T12:00:00Z", "2026-11-28T13:00:00Z", bucket="hour", format="xlsx")
    assert (response.status_code, response.headers["content-type"]) == (200, XLSX)
    sheet, rows = _sheet(response.content)
    assert rows == [
        (
            "Inicio (America/Santiago)",
            "Fin (America/Santiago)",
            "Caudal mínimo (L/s)",
            "Caudal máximo (L/s)",
            "Caudal medio (L/s)",
            "Volumen extraído (m³)",
            "Nivel mínimo (m)",
            "Nivel máximo (m)",
            "Nivel freático mínimo (m)",
            "Nivel freático máximo (m)",
            "Lecturas",
            "Minutos sin datos",
        ),
        (datetime(2026, 11, 28, 9, 0), datetime(2026, 11, 28, 10, 0), 0, 7.25, 3.625, 1.5, 20, 20, 30, 30, 8, 57),
    ]
    assert (sheet.title, sheet.freeze_panes, sheet.auto_filter.ref) == ("Agregados", "A2", "A1:L2")


@pytest.mark.parametrize("path", ["/api/v1/points/P1/readings", "/api/v1/points/P1/aggregates"])
@pytest.mark.parametrize(("name", "value"), [("format", "pdf"), ("dialect", "excel")])
def test_an_unknown_format_or_dialect_is_refused_naming_the_choices(site, path, name, value):
    response = site.get(path, **{name: value})
    expected = "'json', 'csv' o 'xlsx'" if name == "format" else "'csv' o 'excel-es'"
    assert (response.status_code, response.json()["error"]["message"]) == (422, f"query.{name}: debe ser {expected}")
