from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from compliance.dga.config import DgaWorkConfig
from compliance.dga.format import (
    FormatError,
    build_request,
    format_altura,
    format_caudal,
    format_fecha,
    format_hora,
    format_nivel,
    format_timestamp_origen,
    format_totalizador,
    redacted,
)
from compliance.dga.values import SlotValues

SLOT = datetime(2026, 11, 28, 13, tzinfo=UTC)
SENT = datetime(2026, 11, 28, 13, 10, 5, 123456, tzinfo=UTC)


def config(**changes) -> DgaWorkConfig:
    base = {
        "mode": "live",
        "work_type": "subterranea",
        "codigo_obra": "OB-0601-444",
        "standard": "mayor",
        "informant_rut": "12.345.678-5",
        "informant_password": "s3cret",
        "valid_from": "2026-01-01T00:00:00-04:00",
    }
    return DgaWorkConfig.model_validate({**base, **changes})


# Decimal text in, the DGA's text out.
CAUDAL_TEXT = {
    "12.3": "12.30",
    "12.345": "12.35",
    "12.344999": "12.34",
    "0.005": "0.01",
    "0.004": "0.00",
    "0": "0.00",
    "-0": "0.00",
    "-0.004": "0.00",
    "-0.0": "0.00",
    "1E+3": "1000.00",
    "123456.785": "123456.79",
    "2.675": "2.68",
}
TOTALIZADOR_TEXT = {
    "154320": "154320",
    "154320.99": "154320",
    "0.4": "0",
    "-0.4": "0",
    "1.5E+4": "15000",
    "999999999999999": "999999999999999",
    "999999999999999.9": "999999999999999",
}


@pytest.mark.parametrize(("value", "text"), CAUDAL_TEXT.items())
def test_caudal_has_exactly_two_decimals_half_up(value, text):
    assert format_caudal(D(value)) == text


@pytest.mark.parametrize(("value", "text"), TOTALIZADOR_TEXT.items())
def test_totalizador_is_whole_cubic_metres(value, text):
    assert format_totalizador(D(value)) == text


@pytest.mark.parametrize(
    ("formatter", "value", "message"),
    [
        (format_caudal, D("-0.005"), "caudal -0.005 L/s es negativo; un caudal negativo nunca se declara"),
        (format_caudal, D("-1"), "caudal -1 L/s es negativo; un caudal negativo nunca se declara"),
        (format_caudal, D("NaN"), "caudal debe ser un número decimal finito, se recibió Decimal('NaN')"),
        (format_caudal, D("Infinity"), "caudal debe ser un número decimal finito, se recibió Decimal('Infinity')"),
        (format_caudal, 12.3, "caudal debe ser un número decimal finito, se recibió 12.3"),
        (format_totalizador, D("1000000000000000"), "totalizador 1000000000000000 tiene 16 dígitos; la DGA admite 15"),
        (format_totalizador, D("-1"), "totalizador -1 m3 es negativo"),
        (format_totalizador, D("NaN"), "totalizador debe ser un número decimal finito, se recibió Decimal('NaN')"),
    ],
)
def test_refusals_name_the_field_and_the_value(formatter, value, message):
    with pytest.raises(FormatError) as refused:
        formatter(value)
    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("formatter", "name"), [(format_nivel, "nivelFreaticoDelPozo"), (format_altura, "alturaLimnimetrica")]
)
def test_blank_only_where_allowed(formatter, name):
    with pytest.raises(FormatError) as refused:
        formatter(None, False)
    assert str(refused.value) == f"falta {name}, que el estándar de esta obra exige"


@pytest.mark.parametrize(
    ("value", "blank", "text"),
    [
        (D("35.424"), False, "35.42"),
        (D("35.425"), False, "35.43"),
        (D("-0.001"), False, "0.00"),
        (D("-1.5"), False, "-1.50"),  # artesian: water above the surface
        (None, True, ""),
    ],
)
def test_nivel(value, blank, text):
    assert format_nivel(value, blank) == text


@pytest.mark.parametrize(
    ("value", "blank", "text"),
    [
        (D("45.6"), False, "46"),
        (D("45.5"), False, "46"),
        (D("45.49"), False, "45"),
        (D("-0.2"), False, "0"),
        (None, True, ""),
    ],
)
def test_altura(value, blank, text):
    assert format_altura(value, blank) == text


@pytest.mark.parametrize(
    ("t", "fecha", "hora"),
    [
        (datetime(2026, 11, 28, 13, tzinfo=UTC), "2026-11-28", "09:00:00"),
        (datetime(2026, 11, 28, 3, tzinfo=UTC), "2026-11-27", "23:00:00"),
        (datetime(2026, 1, 1, 4, tzinfo=UTC), "2026-01-01", "00:00:00"),
        (datetime(2026, 4, 5, 4, tzinfo=UTC), "2026-04-05", "00:00:00"),
        (datetime(2026, 9, 6, 4, tzinfo=UTC), "2026-09-06", "00:00:00"),
        (datetime(2026, 9, 6, 18, 30, tzinfo=UTC), "2026-09-06", "14:30:00"),
    ],
)
def test_date_and_time_on_the_fixed_utc_minus_4(t, fecha, hora):
    assert (format_fecha(t), format_hora(t)) == (fecha, hora)


def test_timestamp_origen_is_utc_minus_4_wall_clock_with_literal_zero_offset():
    assert format_timestamp_origen(SENT) == "2026-11-28T09:10:05-0000"


VALUES = SlotValues(
    caudal=D("12.3"), totalizador=D("154320.7"), nivel_freatico=D("35.42"), altura_limnimetrica_cm=D("45.6")
)
AUTH = {"password": "s3cret", "rutEmpresa": "77555666-8", "rutUsuario": "12345678-5"}
HEADERS = {
    "Content-Type": "application/json",
    "codigoObra": "OB-0601-444",
    "timeStampOrigen": "2026-11-28T09:10:05-0000",
}


@pytest.mark.parametrize(
    ("changes", "values", "path", "body"),
    [
        (
            {},
            VALUES,
            "/api/v1/mediciones/subterraneas",
            {
                "autenticacion": AUTH,
                "medicionSubterranea": {
                    "caudal": "12.30",
                    "fechaMedicion": "2026-11-28",
                    "horaMedicion": "09:00:00",
                    "nivelFreaticoDelPozo": "35.42",
                    "totalizador": "154320",
                },
            },
        ),
        (
            {"standard": "muy_pequeno"},
            SlotValues(caudal=D("0.2"), totalizador=D("12")),
            "/api/v1/mediciones/subterraneas",
            {
                "autenticacion": AUTH,
                "medicionSubterranea": {
                    "caudal": "0.20",
                    "fechaMedicion": "2026-11-28",
                    "horaMedicion": "09:00:00",
                    "nivelFreaticoDelPozo": "",
                    "totalizador": "12",
                },
            },
        ),
        (
            {"mining_waters": True},
            SlotValues(caudal=D("5"), totalizador=D("12")),
            "/api/v1/mediciones/subterraneas",
            {
                "autenticacion": AUTH,
                "medicionSubterranea": {
                    "caudal": "5.00",
                    "fechaMedicion": "2026-11-28",
                    "horaMedicion": "09:00:00",
                    "nivelFreaticoDelPozo": "",
                    "totalizador": "12",
                },
            },
        ),
        (
            {"work_type": "superficial_flujometro"},
            VALUES,
            "/api/v1/mediciones/superficiales/flujometro",
            {
                "autenticacion": AUTH,
                "medicionSuperficialFlujometro": {
                    "caudal": "12.30",
                    "fechaMedicion": "2026-11-28",
                    "horaMedicion": "09:00:00",
                    "totalizador": "154320",
                },
            },
        ),
        (
            {"work_type": "superficial"},
            VALUES,
            "/api/v1/mediciones/superficiales",
            {
                "autenticacion": AUTH,
                "medicionSuperficial": {
                    "alturaLimnimetrica": "46",
                    "caudal": "12.30",
                    "fechaMedicion": "2026-11-28",
                    "horaMedicion": "09:00:00",
                },
            },
        ),
        (
            {"work_type": "superficial", "standard": "muy_pequeno"},
            SlotValues(caudal=D("0.1")),
            "/api/v1/mediciones/superficiales",
            {
                "autenticacion": AUTH,
                "medicionSuperficial": {
                    "alturaLimnimetrica": "",
                    "caudal": "0.10",
                    "fechaMedicion": "2026-11-28",
                    "horaMedicion": "09:00:00",
                },
            },
        ),
    ],
    ids=[
        "subterranea",
        "subterranea-muy-pequeno",
        "subterranea-mining",
        "flujometro",
        "superficial",
        "superficial-muy-pequeno",
    ],
)
def test_whole_requests(changes, values, path, body):
    request = build_request(config(**changes), rut_empresa="77.555.666-8", slot=SLOT, values=values, sent_at=SENT)
    assert (request.method, request.path, request.headers) == ("POST", path, HEADERS)
    assert request.body == body
    assert list(request.body) == list(body)
    medicion = next(k for k in body if k != "autenticacion")
    assert list(request.body[medicion]) == list(body[medicion])  # keys in the manual's order
    assert list(request.body["autenticacion"]) == ["password", "rutEmpresa", "rutUsuario"]


def test_json_bytes_are_all_strings_in_order():
    request = build_request(config(), rut_empresa="77555666-8", slot=SLOT, values=VALUES, sent_at=SENT)
    assert request.json_bytes() == (
        b'{"autenticacion":{"password":"s3cret","rutEmpresa":"77555666-8","rutUsuario":"12345678-5"},'
        b'"medicionSubterranea":{"caudal":"12.30","fechaMedicion":"2026-11-28","horaMedicion":"09:00:00",'
        b'"nivelFreaticoDelPozo":"35.42","totalizador":"154320"}}'
    )


def test_redacted_hides_only_the_password():
    request = build_request(config(), rut_empresa="77555666-8", slot=SLOT, values=VALUES, sent_at=SENT)
    shown = redacted(request)
    assert shown.body == {**request.body, "autenticacion": {**AUTH, "password": "***"}}
    assert request.body["autenticacion"]["password"] == "s3cret"  # the original is untouched
    assert "s3cret" not in repr(request) and "***" in repr(request)


@pytest.mark.parametrize(
    ("changes", "values", "message"),
    [
        ({}, SlotValues(totalizador=D(1), nivel_freatico=D(1)), "falta caudal; toda medición DGA declara un caudal"),
        ({}, SlotValues(caudal=D(1), nivel_freatico=D(1)), "falta totalizador, que este tipo de obra exige"),
        (
            {},
            SlotValues(caudal=D(1), totalizador=D(1)),
            "falta nivelFreaticoDelPozo, que el estándar de esta obra exige",
        ),
        (
            {"work_type": "superficial"},
            SlotValues(caudal=D(1)),
            "falta alturaLimnimetrica, que el estándar de esta obra exige",
        ),
        (
            {},
            SlotValues(caudal=D(-2), totalizador=D(1), nivel_freatico=D(1)),
            "caudal -2 L/s es negativo; un caudal negativo nunca se declara",
        ),
    ],
)
def test_requests_that_cannot_be_built(changes, values, message):
    with pytest.raises(FormatError) as refused:
        build_request(config(**changes), rut_empresa="77555666-8", slot=SLOT, values=values, sent_at=SENT)
    assert str(refused.value) == message


def test_a_bad_company_rut_is_refused():
    with pytest.raises(ValueError, match="dígito verificador"):
        build_request(config(), rut_empresa="77555666-9", slot=SLOT, values=VALUES, sent_at=SENT)
