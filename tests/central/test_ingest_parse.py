"""The fast ingest parser never accepts what the uplink model refuses, and reads the same values."""

from __future__ import annotations

import json
from datetime import datetime

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from central.telemetry.parse import BatchRejected, Incoming, fast_parse, parse_batch
from protocols.uplink import Batch

HEADER = {"schema": 1, "gateway": "gw-1", "sent_at": "2026-11-28T13:00:00Z"}

texts = st.one_of(
    st.sampled_from(["dev-1", "P1", "OB-0601-444", "a:b.c_d", "", "-x", "x y", "Ñandú", "a" * 65]), st.text(max_size=8)
)
variables = st.sampled_from(["flow", "totalizer", "level", "ph", "Flow", "9x", "a" * 33, ""])
stamps = st.sampled_from(
    [
        "2026-11-28T12:59:00Z",
        "2026-11-28T12:59:00.5+00:00",
        "2026-11-28T09:59:00.123456-03:00",
        "2026-11-28T12:59:00",
        "2026-11-28 12:59:00Z",
        "20261128T125900Z",
        "2026-02-30T00:00:00Z",
        "2026-11-28T24:00:00Z",
        "2026-11-28T12:59:00+25:00",
        "yesterday",
        "2026-11-28T12:59:00.1234567Z",
    ]
)
values = st.one_of(
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(2**60), 2**60),
    st.sampled_from(["1.5", True, [1.0]]),
)
qualities = st.sampled_from(["good", "clock_unsynced", "timeout", "device_error", "GOOD", "bad", None])
seqs = st.one_of(st.integers(-2, 2**40), st.sampled_from([1.0, "7", True]))


VALID = {
    "seq": st.integers(0, 2**40),
    "device": st.sampled_from(["dev-1", "OB-0601-444", "a:b.c_d"]),
    "point": st.sampled_from(["P1", "OB-0601-444"]),
    "variable": st.sampled_from(["flow", "totalizer", "ph"]),
    "ts": st.sampled_from(["2026-11-28T12:59:00Z", "2026-11-28T12:59:00.5+00:00", "2026-11-28T09:59:00.123456-03:00"]),
    "unit": st.sampled_from(["L/s", "m3", "pH"]),
}
WILD = {
    "seq": seqs,
    "device": texts,
    "point": texts,
    "variable": variables,
    "ts": stamps,
    "unit": st.sampled_from(["L/s", "", "x" * 17, None, 5]),
}


@st.composite
def raw_readings(draw: st.DrawFn) -> dict:
    """Mostly valid readings, each with at most one field drawn from a wild pool."""
    reading = {name: draw(strategy) for name, strategy in VALID.items()}
    quality = draw(st.sampled_from(["good", "clock_unsynced", "timeout", "device_error"]))
    reading["quality"] = quality
    reading["value"] = (
        draw(st.floats(allow_nan=False, allow_infinity=False)) if quality in ("good", "clock_unsynced") else None
    )
    wild = draw(st.sampled_from([None, None, *WILD, "value", "quality", "missing", "extra"]))
    if wild in WILD:
        reading[wild] = draw(WILD[wild])
    elif wild == "value":
        reading["value"] = draw(values)
    elif wild == "quality":
        reading["quality"] = draw(qualities)
    elif wild == "missing":
        reading.pop(draw(st.sampled_from(sorted(reading))))
    elif wild == "extra":
        reading["extra"] = 1
    return reading


def incoming(batch: Batch) -> list[Incoming]:
    return [Incoming(r.seq, r.device, r.point, r.variable, r.ts, r.value, r.unit, r.quality) for r in batch.readings]


def model_readings(raw: list[dict]) -> list[Incoming] | None:
    try:
        batch = Batch.model_validate_json(json.dumps({**HEADER, "readings": raw}), strict=True)
    except ValidationError:
        return None
    return incoming(batch)


@settings(max_examples=400, deadline=None)
@given(st.lists(raw_readings(), min_size=1, max_size=3))
def test_the_fast_path_accepts_only_what_the_model_accepts_and_reads_it_the_same(raw):
    fast = fast_parse(json.dumps({**HEADER, "readings": raw}).encode())
    if fast is not None:
        assert fast.readings == model_readings(raw)


@settings(max_examples=200, deadline=None)
@given(st.lists(raw_readings(), min_size=0, max_size=3))
def test_parse_batch_agrees_with_the_model(raw):
    body = json.dumps({**HEADER, "readings": raw}).encode()
    expected = model_readings(raw)
    if expected is None:
        with pytest.raises(BatchRejected):
            parse_batch(body)
    else:
        assert parse_batch(body).readings == expected


def test_a_plain_batch_takes_the_fast_path():
    raw = [
        {
            "seq": 1,
            "device": "d",
            "point": "P1",
            "variable": "flow",
            "ts": "2026-11-28T09:59:00-03:00",
            "value": 2,
            "unit": "L/s",
        }
    ]
    fast = fast_parse(json.dumps({**HEADER, "readings": raw}).encode())
    assert fast is not None and fast.readings == model_readings(raw)
    assert fast.readings[0].value == 2.0 and type(fast.readings[0].value) is float


# --- what msgspec alone would let through -----------------------------------------------------


class PlainReading(msgspec.Struct):
    """A reading as msgspec alone would decode it: the obvious types, unknown fields ignored."""

    seq: int
    device: str
    point: str
    variable: str
    ts: datetime
    value: float | None
    unit: str
    quality: str = "good"


class PlainBatch(msgspec.Struct):
    gateway: str
    sent_at: datetime
    readings: list[PlainReading]
    schema: int = 1


MSGSPEC_ALONE = msgspec.json.Decoder(PlainBatch)
READING = {
    "seq": 1,
    "device": "d",
    "point": "P1",
    "variable": "flow",
    "ts": "2026-11-28T12:59:00Z",
    "value": 1.5,
    "unit": "L/s",
}


def body_of(reading: str, **header: object) -> bytes:
    """A one-reading body; the reading is JSON text, so that a case can repeat a key."""
    head = json.dumps({**HEADER, **header})
    return f'{head[:-1]}, "readings": [{reading}]}}'.encode()


def reading_text(**changes: object) -> str:
    return json.dumps({**READING, **changes})


def model_rejection(body: bytes) -> str:
    with pytest.raises(BatchRejected) as caught:
        parse_batch(body)
    assert caught.value.status == 422
    return caught.value.message


LENIENCIES = [
    (
        "a time without an offset",
        body_of(reading_text(ts="2026-11-28T12:59:00")),
        "readings[0] (seq 1) ts: la hora debe llevar su diferencia con UTC (por ejemplo 2026-11-28T13:00:00Z o 2026-11-28T10:00:00-03:00)",
    ),
    (
        "a send time without an offset",
        body_of(reading_text(), sent_at="2026-11-28T13:00:00"),
        "sent_at: la hora debe llevar su diferencia con UTC (por ejemplo 2026-11-28T13:00:00Z o 2026-11-28T10:00:00-03:00)",
    ),
    ("an unknown reading field", body_of(reading_text(colour="blue")), "readings[0] (seq 1) colour: campo desconocido"),
    ("an unknown header field", body_of(reading_text(), colour="blue"), "colour: campo desconocido"),
    ("a negative seq", body_of(reading_text(seq=-1)), "readings[0] (seq -1) seq: debe ser mayor o igual que 0"),
    (
        "an empty device name",
        body_of(reading_text(device="")),
        "readings[0] (seq 1) device: debe tener al menos 1 carácter(es)",
    ),
    (
        "a point name with a space",
        body_of(reading_text(point="P 1")),
        "readings[0] (seq 1) point: no tiene la forma esperada (^[A-Za-z0-9][A-Za-z0-9_.:\\-]*$)",
    ),
    ("an empty gateway name", body_of(reading_text(), gateway=""), "gateway: debe tener al menos 1 carácter(es)"),
    (
        "a variable in capitals",
        body_of(reading_text(variable="Flow")),
        "readings[0] (seq 1) variable: no tiene la forma esperada (^[a-z][a-z0-9_]*$)",
    ),
    (
        "a unit too long",
        body_of(reading_text(unit="x" * 17)),
        "readings[0] (seq 1) unit: debe tener como máximo 16 carácter(es)",
    ),
    (
        "a quality outside the enum",
        body_of(reading_text(quality="GOOD")),
        "readings[0] (seq 1) quality: debe ser 'good', 'clock_unsynced', 'timeout', 'device_error',"
        " 'decode_error' o 'out_of_range'",
    ),
    (
        "a good quality without a value",
        body_of(reading_text(value=None)),
        "readings[0] (seq 1): la calidad 'good' necesita un valor",
    ),
    (
        "a timeout carrying a value",
        body_of(reading_text(quality="timeout")),
        "readings[0] (seq 1): la calidad 'timeout' debe llevar value null",
    ),
]


@pytest.mark.parametrize(("body", "message"), [case[1:] for case in LENIENCIES], ids=[case[0] for case in LENIENCIES])
def test_what_msgspec_alone_accepts_the_model_still_refuses(body, message):
    MSGSPEC_ALONE.decode(body)
    assert model_rejection(body) == message


SAME_READING = [
    # msgspec would turn the integer into a float by itself; past 2**53 the model decides
    ("an integer value past 2**53", body_of(reading_text(value=2**53 + 1))),
    # msgspec's datetime parser rounds a seventh fractional digit, the model truncates it
    ("seven fractional digits", body_of(reading_text(ts="2026-11-28T12:59:00.1234567Z"))),
    ("a repeated key: the last one counts", body_of(reading_text()[:-1] + ', "value": 2.5}')),
    ("a repeated key whose first value is invalid", body_of(reading_text(value="x")[:-1] + ', "value": 2.5}')),
]


@pytest.mark.parametrize("body", [case[1] for case in SAME_READING], ids=[case[0] for case in SAME_READING])
def test_a_reading_msgspec_would_read_differently_is_read_as_the_model_reads_it(body):
    assert parse_batch(body).readings == incoming(Batch.model_validate_json(body, strict=True))


def test_a_repeated_key_whose_last_value_is_invalid_is_refused():
    body = body_of(reading_text()[:-1] + ', "value": "x"}')
    assert model_rejection(body) == "readings[0] (seq 1) value: debe ser un número"


def test_a_number_past_the_float_range_is_refused_like_infinity():
    body = body_of(reading_text(value=0).replace('"value": 0', '"value": 1e400'))
    assert model_rejection(body).startswith("readings[0] (seq 1) value: value debe ser un número finito o null")


def test_invalid_utf8_in_a_header_field_names_the_field():
    body = body_of(reading_text(), gateway="__BAD__").replace(b'"__BAD__"', b'"gw\xff"')
    assert model_rejection(body) == "gateway: UTF-8 no válido en el texto"


@pytest.mark.parametrize("depth", [900, 5000])
def test_a_deeply_nested_body_is_refused_not_a_crash(depth):
    body = body_of(reading_text(), agent="__DEEP__").replace(b'"__DEEP__"', b"[" * depth + b"]" * depth)
    assert model_rejection(body).startswith("no es JSON válido")


def test_a_time_holding_a_line_break_is_refused():
    """The fast path checks all distinct times in one regex pass, joined by line breaks."""
    body = body_of(reading_text(ts="2026-11-28T12:59:00Z\n2026-11-28T12:59:00Z"))
    assert model_rejection(body).startswith("readings[0] (seq 1) ts: no es una fecha y hora ISO 8601")
