"""Why a slot missed its deadline, in plain Spanish, and whose failure it was (pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from compliance.failures import DGA, HOLDER, Cause, cause_of

SLOT = datetime(2026, 11, 28, 12, tzinfo=UTC)
DEADLINE = SLOT + timedelta(hours=1)
VALUES = json.dumps({"caudal": "10"})


def row(state: str = "accepted", *, values: str | None = VALUES, reasons: list[str] = (), **columns: object) -> dict:
    base = {
        "state": state,
        "values_json": values,
        "reasons": json.dumps(list(reasons)),
        "reviewed_at": None,
        "reviewed_by": None,
        "review_reason": None,
        "corrected_values": None,
    }
    return {**base, **columns}


def send(
    minutes: int, outcome: str, *, http: int | None = 400, message: str | None = None, error: str | None = None
) -> dict:
    return {
        "started_at": SLOT + timedelta(minutes=minutes),
        "outcome": outcome,
        "http_status": http,
        "message": message,
        "error": error,
    }


NEGATIVE = ["caudal -4 L/s es negativo"]


@pytest.mark.parametrize(
    ("ledger", "sends", "blocked", "cause"),
    [
        (
            None,
            [],
            False,
            Cause("Medidor o gateway sin datos", HOLDER, "ninguna lectura utilizable cerca de la hora de medición"),
        ),
        (
            row("no_data", values=None, reasons=["faltan todas las variables"]),
            [],
            False,
            Cause("Medidor o gateway sin datos", HOLDER, "ninguna lectura utilizable cerca de la hora de medición"),
        ),
        (
            row("review", reasons=NEGATIVE),
            [],
            False,
            Cause(
                "Retenida para revisión por un valor imposible",
                HOLDER,
                "caudal -4 L/s es negativo; sin decisión de una persona",
            ),
        ),
        (
            row(
                "accepted",
                reasons=NEGATIVE,
                corrected_values='{"caudal": "4"}',
                reviewed_by="ana",
                reviewed_at=SLOT + timedelta(hours=3),
                review_reason="cableado invertido",
            ),
            [send(185, "accepted")],
            False,
            Cause(
                "Retenida para revisión por un valor imposible",
                HOLDER,
                "caudal -4 L/s es negativo; corregida por ana el 2026-11-28 11:00 (UTC-4): cableado invertido",
            ),
        ),
        (
            row(
                "discarded",
                reasons=NEGATIVE,
                reviewed_by="ana",
                reviewed_at=SLOT + timedelta(hours=2),
                review_reason="sensor en mantención",
            ),
            [],
            False,
            Cause(
                "Retenida para revisión por un valor imposible",
                HOLDER,
                "caudal -4 L/s es negativo; descartada por ana el 2026-11-28 10:00 (UTC-4): sensor en mantención",
            ),
        ),
        (
            row("rejected"),
            [send(12, "retry", message="caudal con formato inválido")],
            False,
            Cause("La DGA rechazó el envío", DGA, "HTTP 400: caudal con formato inválido"),
        ),
        (
            row("retry_scheduled"),
            [send(12, "retry", http=None, error="tiempo de espera agotado tras 15 s")],
            False,
            Cause("DGA no disponible", DGA, "tiempo de espera agotado tras 15 s"),
        ),
        (
            row("accepted"),
            [send(12, "retry", http=503, message="Error interno"), send(1452, "accepted")],
            False,
            Cause("DGA no disponible", DGA, "HTTP 503: Error interno"),
        ),
        (
            row("unrecoverable"),
            [send(12, "unrecoverable", message="Usuario no es el informante registrado en la Obra")],
            True,
            Cause(
                "Informante bloqueado: la DGA no lo reconoce para la obra",
                HOLDER,
                "Usuario no es el informante registrado en la Obra",
            ),
        ),
        (
            row("pending"),
            [],
            True,
            Cause("Informante bloqueado: envíos detenidos hasta corregir sus credenciales", HOLDER),
        ),
        (
            row("needs_review"),
            [send(12, "needs_review", http=200, message="Medición ingresada")],
            False,
            Cause("La DGA respondió sin comprobante", DGA, "Medición ingresada"),
        ),
        (
            row("accepted"),
            [
                send(12, "unknown", http=None, error="no reply recorded: the sender stopped mid-send"),
                send(1452, "accepted"),
            ],
            False,
            Cause(
                "Envío interrumpido sin respuesta registrada", HOLDER, "no reply recorded: the sender stopped mid-send"
            ),
        ),
        (
            row("accepted"),
            [send(90, "retry", http=None, error="timeout"), send(1530, "accepted")],
            False,
            Cause(
                "Enviada después del plazo por el sistema del titular",
                HOLDER,
                "primer intento el 2026-11-28 09:30 (UTC-4)",
            ),
        ),  # its first send was after the deadline already
    ],
)
def test_the_cause_of_a_missed_slot(ledger, sends, blocked, cause):
    assert cause_of(ledger, sends, DEADLINE, blocked) == cause
