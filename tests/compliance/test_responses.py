import pytest

from compliance.dga.responses import (
    Check,
    CheckResult,
    Outcome,
    OutcomeKind,
    RawReply,
    classify,
    classify_check,
    parse_existing_comprobante,
)

EXISTS = "Ya existe un registro en esa fecha, hora para la obra. Comprobante: X"
NOT_INFORMANT = "Usuario no es el informante registrado en la Obra"


def reply(status, body, error=None) -> RawReply:
    return RawReply(status, body, 0.2, error, "" if body is None else str(body))


@pytest.mark.parametrize(
    ("raw", "kind", "comprobante", "answered"),
    [
        (
            reply(200, {"status": "00", "message": "ok", "data": {"numeroComprobante": "ABC123"}}),
            OutcomeKind.ACCEPTED,
            "ABC123",
            True,
        ),
        (
            reply(200, {"status": "00", "message": "ok", "data": {"numeroComprobante": 98765}}),
            OutcomeKind.ACCEPTED,
            "98765",
            True,
        ),
        (reply(400, {"status": "01", "message": EXISTS}), OutcomeKind.ACCEPTED, "X", True),
        (reply(400, {"message": EXISTS.replace(": X", ": 7F3A-22B9.")}), OutcomeKind.ACCEPTED, "7F3A-22B9", True),
        (
            reply(
                400,
                {
                    "status": "01",
                    "mensaje": "ya existe un registro en esa fecha, hora para la obra. comprobante:   q1w2e3",
                },
            ),
            OutcomeKind.ACCEPTED,
            "q1w2e3",
            True,
        ),
        (
            reply(400, {"message": "Ya existe un registro en esa fecha, hora para la obra.", "status": "01"}),
            OutcomeKind.NEEDS_REVIEW,
            None,
            True,
        ),
        (reply(400, {"status": "02", "message": NOT_INFORMANT}), OutcomeKind.UNRECOVERABLE, None, True),
        (
            reply(401, {"status": "02", "message": "USUARIO NO ES EL INFORMANTE REGISTRADO EN LA OBRA"}),
            OutcomeKind.UNRECOVERABLE,
            None,
            True,
        ),
        (reply(200, {"status": "00", "message": "ok", "data": {}}), OutcomeKind.NEEDS_REVIEW, None, True),
        (reply(200, {"status": "00", "message": "ok"}), OutcomeKind.NEEDS_REVIEW, None, True),
        (reply(200, {"status": "00", "data": {"numeroComprobante": "  "}}), OutcomeKind.NEEDS_REVIEW, None, True),
        (reply(200, {"status": "00", "data": {"numeroComprobante": True}}), OutcomeKind.NEEDS_REVIEW, None, True),
        (reply(500, {"status": "00", "data": {"numeroComprobante": "Z"}}), OutcomeKind.NEEDS_REVIEW, "Z", True),
        (reply(400, {"status": "01", "message": "caudal con formato inválido"}), OutcomeKind.RETRY, None, True),
        (reply(200, {"status": 0, "data": {"numeroComprobante": "Z"}}), OutcomeKind.RETRY, None, True),
        (reply(500, {"status": "99", "message": "Error interno"}), OutcomeKind.RETRY, None, True),
        (reply(503, None), OutcomeKind.RETRY, None, True),
        (reply(200, ["not", "an", "object"]), OutcomeKind.RETRY, None, True),
        (reply(None, None, "tiempo de espera agotado tras 15 s"), OutcomeKind.RETRY, None, False),
        (reply(None, None, "ServerDisconnectedError: Server disconnected"), OutcomeKind.RETRY, None, False),
    ],
)
def test_classification_table(raw, kind, comprobante, answered):
    outcome = classify(raw)
    assert (outcome.kind, outcome.comprobante, outcome.answered) == (kind, comprobante, answered)


def test_whole_outcome_of_a_duplicate():
    assert classify(reply(400, {"status": "01", "message": EXISTS})) == Outcome(
        OutcomeKind.ACCEPTED, "X", True, f"la DGA ya la tenía: {EXISTS}"
    )


def test_a_neighbouring_field_is_never_read_as_the_comprobante():
    body = {"message": "Ya existe un registro en esa fecha, hora para la obra. Comprobante:", "status": "01"}
    assert classify(reply(400, body)).kind is OutcomeKind.NEEDS_REVIEW


@pytest.mark.parametrize(
    ("message", "comprobante"),
    [
        (EXISTS, "X"),
        ("Ya existe un registro en esa fecha, hora para la obra. Comprobante: 0000123456", "0000123456"),
        ("Ya existe un registro en esa fecha, hora para la obra. Comprobante: AB-12/34.", "AB-12/34"),
        ("Ya existe un registro en esa fecha, hora para la obra. Comprobante N° 77", "77"),
        ('Ya existe un registro en esa fecha, hora para la obra. Comprobante: "k9"', "k9"),
        ("Ya existe un registro en esa fecha, hora para la obra.", None),
        ("Comprobante: X", None),
    ],
)
def test_parse_existing_comprobante(message, comprobante):
    assert parse_existing_comprobante(message) == comprobante


@pytest.mark.parametrize(
    ("raw", "result"),
    [
        (
            reply(200, {"status": "00", "data": {"fechaMedicion": "28-11-2026", "horaMedicion": "09:00:00"}}),
            CheckResult.CONFIRMED,
        ),
        (
            reply(200, {"status": "00", "data": {"fechaMedicion": "2026-11-28", "horaMedicion": "09:00:00"}}),
            CheckResult.CONFIRMED,
        ),
        (
            reply(200, {"status": "00", "data": [{"fechaMedicion": "28-11-2026", "horaMedicion": "09:00:00"}]}),
            CheckResult.CONFIRMED,
        ),
        (
            reply(200, {"status": "00", "data": {"fechaMedicion": "28-11-2026", "horaMedicion": "10:00:00"}}),
            CheckResult.NOT_FOUND,
        ),
        (reply(404, {"status": "04", "message": "No existe"}), CheckResult.NOT_FOUND),
        (reply(503, {"status": "99"}), CheckResult.UNKNOWN),
        (reply(200, None), CheckResult.UNKNOWN),
        (reply(None, None, "timeout"), CheckResult.UNKNOWN),
    ],
)
def test_check_classification(raw, result):
    assert classify_check(raw, "2026-11-28", "09:00:00") == Check(result)


SENT = {
    "caudal": "12.30",
    "totalizador": "154320",
    "nivelFreaticoDelPozo": "35.42",
    "fechaMedicion": "2026-11-28",
    "horaMedicion": "09:00:00",
}


def held(**values: object) -> RawReply:
    return reply(200, {"status": "00", "data": {**SENT, "fechaMedicion": "28-11-2026", **values}})


@pytest.mark.parametrize(
    ("raw", "check"),
    [
        (held(), Check(CheckResult.CONFIRMED)),
        (held(caudal=12.3, totalizador=154320), Check(CheckResult.CONFIRMED)),  # numbers, not the strings sent
        (held(caudal="12.3"), Check(CheckResult.CONFIRMED)),
        (held(caudal="1.23"), Check(CheckResult.MISMATCH, ("caudal: enviado '12.30', guardado '1.23'",))),
        (
            held(totalizador="154000", nivelFreaticoDelPozo="x"),
            Check(
                CheckResult.MISMATCH,
                (
                    "totalizador: enviado '154320', guardado '154000'",
                    "nivelFreaticoDelPozo: enviado '35.42', guardado 'x'",
                ),
            ),
        ),
        (
            reply(200, {"status": "00", "data": {"fechaMedicion": "28-11-2026", "horaMedicion": "09:00:00"}}),
            Check(CheckResult.CONFIRMED),
        ),  # values not returned: not judged
    ],
)
def test_the_check_compares_the_values_held_with_those_sent(raw, check):
    assert classify_check(raw, "2026-11-28", "09:00:00", SENT) == check
