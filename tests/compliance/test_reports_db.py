"""The monthly report: every slot, gaps, the informe de fallas, volume against the right."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from openpyxl import load_workbook

from compliance.api import report_format
from tests.compliance.worker_support import (
    ADMIN,
    BOB,
    CODE,
    add_readings,
    configure_dga,
    one_pass,
    seed,
    utc,
)

LINK = f"https://snia.mop.gob.cl/cExtracciones2/#/consultaQR/{CODE}"


@pytest.fixture
async def site(app_client, clock, database_url, dga):
    """A daily work from 27 Nov: the 27th has no data, the 28th is sent (late: after 05:00Z)."""
    db = app_client.app.state.ctx.db
    point_id = seed(db, clock.now())
    add_readings(db, point_id, utc("2026-11-28T04:00:00"), flow=12.345, totalizer=154320.9, water_table=35.424)
    add_readings(db, point_id, utc("2026-11-28T12:00:00"), totalizer=154400.9)
    configure_dga(
        db, point_id, dga.url, clock.now(), standard="medio", caudal_mode="instant", valid_from="2026-11-27T04:00:00Z"
    )
    await one_pass(db, clock, database_url)
    (stored,) = dga.stored.values()
    return app_client, stored.comprobante


async def test_the_csv_report_of_a_month(site):
    client, comprobante = site
    answer = client.get(f"/api/v1/compliance/reports/{CODE}/2026-11", headers=ADMIN)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert (
        answer.text
        == f"""\
slot_utc,fecha_medicion,hora_medicion,state,caudal,totalizador,nivelFreaticoDelPozo,alturaLimnimetrica,\
comprobante,snia_link,missed_deadline,correction
2026-11-27T04:00:00Z,2026-11-27,00:00:00,no_data,,,,,,,yes,
2026-11-28T04:00:00Z,2026-11-28,00:00:00,accepted,12.35,154320,35.42,,{comprobante},{LINK},yes,

informe_de_fallas
Medición (UTC-4),Plazo (UTC-4),Aceptada (UTC-4),Estado,Causa,Responsable,Detalle
2026-11-27 00:00,2026-11-27 01:00,,sin datos,Medidor o gateway sin datos,Titular,ninguna lectura utilizable cerca \
de la hora de medición
2026-11-28 00:00,2026-11-28 01:00,2026-11-28 09:00,aceptada,Enviada después del plazo por el sistema del titular,\
Titular,primer intento el 2026-11-28 09:00 (UTC-4)

summary,value
point,{CODE}
codigo_obra,{CODE}
month,2026-11
mode,live
period,day
slots,2
slots_accepted,1
slots_no_data,1
missed_deadlines,2
missed_titular,2
missed_dga,0
seconds_in_month,2592000
volume_extracted_m3,80.00
volume_basis,2026-11-28T04:00:00Z to 2026-11-28T12:00:00Z
water_right_lps,20.0
water_right_volume_m3,51840.00
extracted_percent_of_right,0.15
"""
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.mark.parametrize(
    ("chosen", "accept", "dialect", "expected"),
    [
        (None, None, "csv", "csv"),
        (None, "*/*", "csv", "csv"),
        (None, XLSX, "csv", "xlsx"),
        (None, f"text/csv;q=0.5, {XLSX}", "csv", "xlsx"),
        (None, f"text/csv, {XLSX};q=0.9", "csv", "csv"),
        (None, f"{XLSX};q=bad", "csv", "csv"),
        ("csv", XLSX, "excel-es", "csv"),  # ?format= wins over Accept
        ("xlsx", "text/csv", "csv", "xlsx"),
    ],
)
def test_one_way_to_choose_a_report_format(chosen, accept, dialect, expected):
    assert report_format(chosen, accept, dialect) == expected


async def test_a_csv_dialect_for_a_workbook_is_refused_in_spanish(site):
    answer = site[0].get(
        f"/api/v1/compliance/reports/{CODE}/2026-11", headers=ADMIN, params={"format": "xlsx", "dialect": "excel-es"}
    )
    assert (answer.status_code, answer.json()["error"]["message"]) == (
        422,
        "dialect solo se aplica al CSV; quítelo o pida format=csv",
    )


async def test_a_month_that_is_not_one_is_refused_in_spanish(site):
    answer = site[0].get(f"/api/v1/compliance/reports/{CODE}/2026-13", headers=ADMIN)
    assert (answer.status_code, answer.json()["error"]["message"]) == (
        422,
        "el mes '2026-13' no tiene la forma aaaa-mm (por ejemplo 2026-11)",
    )


async def test_the_xlsx_report_is_for_a_person_spanish_headers_dates_numbers_and_snia_links(site):
    client, comprobante = site
    answer = client.get(f"/api/v1/compliance/reports/{CODE}/2026-11?format=xlsx", headers=ADMIN)
    book = load_workbook(io.BytesIO(answer.content))
    assert book.sheetnames == ["Mediciones", "Fallas", "Resumen"]
    sheet = book["Mediciones"]
    header, *slots = sheet.iter_rows(values_only=True)
    assert " | ".join(header) == (
        "Medición (UTC-4) | Fecha DGA | Hora DGA | Estado | Caudal (L/s) | Totalizador (m³) | Nivel freático (m)"
        " | Altura limnimétrica (m) | Comprobante | SNIA | Fuera de plazo | Corrección"
    )
    assert slots == [
        (datetime(2026, 11, 27), "2026-11-27", "00:00:00", "sin datos", None, None, None, None, None, None, "sí", None),
        (
            datetime(2026, 11, 28),
            "2026-11-28",
            "00:00:00",
            "aceptada",
            12.35,
            154320,
            35.42,
            None,
            comprobante,
            "Ver en SNIA",
            "sí",
            None,
        ),
    ]  # nothing for the 29th and 30th: the report is made on the 28th
    assert (sheet["J3"].hyperlink.target, sheet["A2"].number_format, sheet.freeze_panes, sheet.auto_filter.ref) == (
        LINK,
        "yyyy-mm-dd hh:mm",
        "A2",
        "A1:L3",
    )
    assert [sheet.column_dimensions[column].width > 10 for column in "ADEJ"] == [True] * 4
    summary = dict(book["Resumen"].iter_rows(values_only=True))
    assert (summary["Volumen extraído (m³)"], summary["Mediciones: aceptada"], summary["Derecho de agua (L/s)"]) == (
        80,
        1,
        20,
    )


async def test_the_informe_de_fallas_alone_in_csv(site):
    answer = site[0].get(f"/api/v1/compliance/reports/{CODE}/2026-11/informe-de-fallas?format=csv", headers=ADMIN)
    assert (answer.status_code, answer.headers["content-disposition"]) == (
        200,
        f'attachment; filename="{CODE}-2026-11-informe-de-fallas.csv"',
    )
    assert (
        answer.text
        == """\
Medición (UTC-4),Plazo (UTC-4),Aceptada (UTC-4),Estado,Causa,Responsable,Detalle
2026-11-27 00:00,2026-11-27 01:00,,sin datos,Medidor o gateway sin datos,Titular,ninguna lectura utilizable cerca \
de la hora de medición
2026-11-28 00:00,2026-11-28 01:00,2026-11-28 09:00,aceptada,Enviada después del plazo por el sistema del titular,\
Titular,primer intento el 2026-11-28 09:00 (UTC-4)
"""
    )


async def test_the_csv_report_for_a_spanish_spreadsheet(site):
    answer = site[0].get(f"/api/v1/compliance/reports/{CODE}/2026-11", headers=ADMIN, params={"dialect": "excel-es"})
    lines = answer.content.decode("utf-8").splitlines()
    assert (answer.content[:3], lines[0], lines[3].split(";")[3:7], lines[-1]) == (
        b"\xef\xbb\xbf",
        "\ufeffsep=;",
        ["accepted", "12,35", "154320", "35,42"],
        "extracted_percent_of_right;0,15",
    )
    assert "2026-11-28T04:00:00Z;2026-11-28;00:00:00" in lines[3]


async def test_the_informe_de_fallas_xlsx_has_dates_as_dates_a_frozen_header_and_filters(site):
    answer = site[0].get(
        f"/api/v1/compliance/reports/{CODE}/2026-11/informe-de-fallas", headers={**ADMIN, "Accept": XLSX}
    )
    sheet = load_workbook(io.BytesIO(answer.content))["Fallas"]
    assert list(sheet.iter_rows(values_only=True)) == [
        ("Medición (UTC-4)", "Plazo (UTC-4)", "Aceptada (UTC-4)", "Estado", "Causa", "Responsable", "Detalle"),
        (
            datetime(2026, 11, 27),
            datetime(2026, 11, 27, 1),
            None,
            "sin datos",
            "Medidor o gateway sin datos",
            "Titular",
            "ninguna lectura utilizable cerca de la hora de medición",
        ),
        (
            datetime(2026, 11, 28),
            datetime(2026, 11, 28, 1),
            datetime(2026, 11, 28, 9),
            "aceptada",
            "Enviada después del plazo por el sistema del titular",
            "Titular",
            "primer intento el 2026-11-28 09:00 (UTC-4)",
        ),
    ]
    assert (sheet.freeze_panes, sheet.auto_filter.ref, sheet["B2"].number_format) == ("A2", "A1:G3", "yyyy-mm-dd hh:mm")


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        (f"/api/v1/compliance/reports/{CODE}/2026-13", ADMIN, 422),
        (f"/api/v1/compliance/reports/{CODE}/2026-11", BOB, 404),
        ("/api/v1/compliance/reports/OB-0000-1/2026-11?format=xlsx", ADMIN, 404),
    ],
)
async def test_bad_report_requests(site, path, headers, status):
    client, _ = site
    assert client.get(path, headers=headers).status_code == status
