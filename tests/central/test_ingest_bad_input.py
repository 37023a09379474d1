"""Malformed batches: 422 naming the reading (index, seq, field), nothing stored, server still serving."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.central.telemetry_support import batch, reading

NOW = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)
T0 = NOW - timedelta(minutes=5)
MARK = "__BAD__"


def body_with(
    bad_reading: dict, *, replace: bytes | None = None, gateway: str = "gw-norte", sent_at: datetime = NOW
) -> bytes:
    """A batch whose second reading (index 1, seq 11) is ``bad_reading``; ``replace`` swaps
    the JSON string "__BAD__" for raw bytes (NaN literals, invalid UTF-8)."""
    document = batch(
        [reading(10, "flow", T0, 1.0), {**reading(11, "flow", T0 + timedelta(minutes=1), 2.0), **bad_reading}],
        sent_at,
        gateway=gateway,
    )
    body = json.dumps(document).encode()
    return body.replace(f'"{MARK}"'.encode(), replace) if replace is not None else body


CASES = [
    (
        "nan literal",
        body_with({"value": MARK}, replace=b"NaN"),
        "readings[1] (seq 11) value: value debe ser un número finito",
    ),
    ("infinity literal", body_with({"value": MARK}, replace=b"Infinity"), "readings[1] (seq 11) value: value debe"),
    ("text for a number", body_with({"value": "12.5"}), "readings[1] (seq 11) value:"),
    ("text for seq", body_with({"seq": "eleven"}), "readings[1] seq:"),
    (
        "invalid utf-8",
        body_with({"device": MARK}, replace=b'"caudal\xff\xfe"'),
        "readings[1] (seq 11) device: UTF-8 no válido",
    ),
    (
        "unknown variable without unit",
        body_with({"variable": "ph", "unit": ""}),
        "readings[1] (seq 11) unit: variable desconocida 'ph' sin unidad",
    ),
    ("flow in the wrong unit", body_with({"unit": "m3/h"}), "readings[1] (seq 11) unit: flow debe llegar en L/s"),
    (
        "water table sent by the edge",
        body_with({"variable": "water_table", "unit": "m"}),
        "readings[1] (seq 11) variable: water_table lo calcula el servidor",
    ),
    (
        "a timestamp far in the future",
        body_with({"ts": "2026-11-28T13:06:00Z"}),
        "readings[1] (seq 11) ts: 2026-11-28T13:06:00Z está en el futuro",
    ),
    (
        "later than the gateway's own send time",
        body_with({"ts": "2026-11-28T14:06:00Z"}, sent_at=NOW + timedelta(hours=1)),
        "readings[1] (seq 11) ts: 2026-11-28T14:06:00Z está en el futuro",
    ),
    ("a good quality without a value", body_with({"value": None}), "readings[1] (seq 11): la calidad 'good' necesita"),
    (
        "a timeout carrying a value",
        body_with({"quality": "timeout"}),
        "readings[1] (seq 11): la calidad 'timeout' debe",
    ),
    ("an unknown field", body_with({"colour": "blue"}), "readings[1] (seq 11) colour: campo desconocido"),
    ("a naive timestamp", body_with({"ts": "2026-11-28T12:56:00"}), "readings[1] (seq 11) ts:"),
    (
        "the gateway field of another gateway",
        body_with({}, gateway="gw-sur"),
        "gateway: el lote dice gateway 'gw-sur' pero el token es de 'gw-norte'",
    ),
    ("not json", b"{this is not json", "no es JSON válido"),
    ("an empty body", b"", "no es JSON válido"),
]


@pytest.mark.parametrize(("body", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_a_malformed_batch_is_refused_with_a_message_naming_the_problem(site, body, expected):
    response = site.ingest(body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["message"].startswith(expected) or expected in response.json()["error"]["message"]
    assert site.stored() == []
    good = site.ingest(batch([reading(1, "flow", T0, 3.0)], NOW))
    assert good.json()["stored"] == 1


def test_the_details_list_index_seq_and_field_of_each_problem(site):
    document = batch([reading(10, "flow", T0, 1.0, unit="m3/h"), reading(11, "ph", T0, 7.0, unit="")], NOW)
    response = site.ingest(document)
    assert response.json()["error"]["details"] == [
        {
            "index": 0,
            "seq": 10,
            "field": "unit",
            "problem": "flow debe llegar en L/s (el gateway convierte las unidades), no en 'm3/h'",
        },
        {
            "index": 1,
            "seq": 11,
            "field": "unit",
            "problem": "variable desconocida 'ph' sin unidad: las demás variables deben declarar la suya",
        },
    ]


def test_a_gateway_whose_clock_runs_ahead_may_send_its_readings(site):
    ahead = NOW + timedelta(hours=1)
    response = site.ingest(batch([reading(1, "flow", ahead - timedelta(minutes=1), 1.0)], ahead))
    assert response.status_code == 200 and response.json()["stored"] == 1


def test_a_reading_within_the_tolerance_is_accepted(site):
    response = site.ingest(batch([reading(1, "flow", NOW + timedelta(seconds=299), 1.0)], NOW))
    assert response.status_code == 200


def test_other_variables_with_their_own_unit_are_stored(site):
    response = site.ingest(batch([reading(1, "ph", T0, 7.2, unit="pH")], NOW))
    assert response.json()["stored"] == 1
    assert site.rows("SELECT variable, unit, value FROM readings") == [{"variable": "ph", "unit": "pH", "value": 7.2}]
