"""A batch written straight from the edge buffer's stored rows is the batch its model writes."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime

import pytest

from central.telemetry.parse import parse_batch
from edge.batchbody import BatchBody
from edge.bufferrows import PolledReading, to_row, to_us
from protocols.uplink import AgentStatus, Batch, Quality, Reading, readings_json

T0 = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)
SENT_AT = datetime(2026, 11, 28, 13, 0, 5, 250000, tzinfo=UTC)
STATUS = AgentStatus(version="1.2.3", buffer_depth=7, oldest_unsent_s=12.5, dropped_total=3, clock_synced=False)


READINGS = [
    Reading(seq=1, device="m-1", point="OB-1", variable="flow", ts=T0, value=12.4, unit="L/s"),
    Reading(
        seq=2, device="m-1", point="OB-1", variable="flow", ts=T0.replace(microsecond=123456), value=-0.0, unit="L/s"
    ),
    Reading(seq=3, device="m-1", point="OB-1", variable="level", ts=T0, value=None, unit="m", quality=Quality.TIMEOUT),
    Reading(
        seq=4,
        device="m.2:a",
        point="OB_2-x",
        variable="totalizer",
        ts=T0,
        value=1.5e20,
        unit="m³",
        quality=Quality.CLOCK_UNSYNCED,
    ),
    Reading(seq=5, device="m-1", point="OB-1", variable="note", ts=T0, value=1e-7, unit='say "x" \\ y'),
]


@pytest.mark.parametrize("reading", READINGS)
def test_a_body_from_stored_rows_reads_as_the_models_batch(reading: Reading):
    row = (
        reading.seq,
        reading.device,
        reading.point,
        reading.variable,
        to_us(reading.ts),
        reading.value,
        reading.unit,
        reading.quality.value,
    )
    body = gzip.decompress(BatchBody([row]).gzip("gw-norte", SENT_AT, STATUS))
    expected = Batch(gateway="gw-norte", sent_at=SENT_AT, readings=[reading], agent=STATUS)
    assert (Batch.model_validate_json(body), parse_batch(body)) == (expected, parse_batch(expected.to_json()))


def test_each_send_of_a_prepared_body_carries_its_own_header():
    body = BatchBody([(9, "m-1", "OB-1", "flow", to_us(T0), 1.0, "L/s", "good")])
    first, second = (Batch.model_validate_json(gzip.decompress(body.gzip("gw", at, None))) for at in (SENT_AT, T0))
    assert ([first.sent_at, second.sent_at], first.readings == second.readings, body.last_seq) == (
        [SENT_AT, T0],
        True,
        9,
    )


def test_an_empty_body_is_a_heartbeat():
    body = BatchBody([])
    assert (Batch.model_validate_json(gzip.decompress(body.gzip("gw", SENT_AT, STATUS))), body.last_seq) == (
        Batch(gateway="gw", sent_at=SENT_AT, readings=[], agent=STATUS),
        0,
    )


def test_the_readings_array_is_what_json_dumps_writes_for_the_rows_as_objects():
    readings = [*READINGS, Reading(seq=6, device="m-1", point="OB-1", variable="level", ts=T0, value=3, unit="m")]
    rows = [(r.seq, r.device, r.point, r.variable, to_us(r.ts), r.value, r.unit, r.quality.value) for r in readings]
    rows[-1] = (*rows[-1][:5], 3, *rows[-1][6:])  # an integer value, as a test may store one
    as_objects = [
        {
            "seq": seq,
            "device": device,
            "point": point,
            "variable": variable,
            "ts": reading.ts.isoformat().replace("+00:00", "Z"),
            "value": value,
            "unit": unit,
            "quality": quality,
        }
        for reading, (seq, device, point, variable, _, value, unit, quality) in zip(readings, rows, strict=True)
    ]
    assert readings_json(rows) == json.dumps(as_objects, separators=(",", ":"), allow_nan=False).encode()


def test_a_value_that_is_not_finite_is_refused():
    with pytest.raises(ValueError):
        readings_json([(1, "m-1", "OB-1", "flow", to_us(T0), float("nan"), "L/s", "good")])


@pytest.mark.parametrize(
    ("point", "unit", "message"),
    [
        (
            "",
            "L/s",
            "la lectura 3 (pozo-1//flow a las 2026-11-28 13:00:00+00:00) no se puede enviar:"
            " point: debe tener al menos 1 carácter(es)",
        ),
        (
            "P1",
            "x" * 17,
            "la lectura 3 (pozo-1/P1/flow a las 2026-11-28 13:00:00+00:00) no se puede enviar:"
            " unit: debe tener como máximo 16 carácter(es)",
        ),
    ],
)
def test_a_reading_the_uplink_would_refuse_is_named_in_spanish(point: str, unit: str, message: str):
    reading = PolledReading("pozo-1", point, "flow", datetime(2026, 11, 28, 13, tzinfo=UTC), 1.0, unit, Quality.GOOD)
    with pytest.raises(ValueError) as refused:
        to_row(reading, 3)
    assert str(refused.value) == message
