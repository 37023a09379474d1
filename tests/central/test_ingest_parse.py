"""The fast ingest parser never accepts what the uplink model refuses, and reads the same values."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from central.telemetry.parse import BatchRejected, Incoming, fast_readings, parse_batch
from protocols.uplink import Batch

HEADER = {"schema": 1, "gateway": "gw-1", "sent_at": "2026-11-28T13:00:00Z"}

texts = st.one_of(st.sampled_from(["dev-1", "P1", "OB-0601-444", "a:b.c_d", "", "-x", "x y", "Ñandú", "a" * 65]),
                  st.text(max_size=8))
variables = st.sampled_from(["flow", "totalizer", "level", "ph", "Flow", "9x", "a" * 33, ""])
stamps = st.sampled_from([
    "2026-11-28T12:59:00Z", "2026-11-28T12:59:00.5+00:00", "2026-11-28T09:59:00.123456-03:00",
    "2026-11-28T12:59:00", "2026-11-28 12:59:00Z", "20261128T125900Z", "2026-02-30T00:00:00Z",
    "2026-11-28T24:00:00Z", "2026-11-28T12:59:00+25:00", "yesterday", "2026-11-28T12:59:00.1234567Z",
])
values = st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False), st.integers(-(2**60), 2**60),
                   st.sampled_from(["1.5", True, [1.0]]))
qualities = st.sampled_from(["good", "clock_unsynced", "timeout", "device_error", "GOOD", "bad", None])
seqs = st.one_of(st.integers(-2, 2**40), st.sampled_from([1.0, "7", True]))


VALID = {
    "seq": st.integers(0, 2**40), "device": st.sampled_from(["dev-1", "OB-0601-444", "a:b.c_d"]),
    "point": st.sampled_from(["P1", "OB-0601-444"]), "variable": st.sampled_from(["flow", "totalizer", "ph"]),
    "ts": st.sampled_from(["2026-11-28T12:59:00Z", "2026-11-28T12:59:00.5+00:00", "2026-11-28T09:59:00.123456-03:00"]),
    "unit": st.sampled_from(["L/s", "m3", "pH"]),
}
WILD = {"seq": seqs, "device": texts, "point": texts, "variable": variables, "ts": stamps,
        "unit": st.sampled_from(["L/s", "", "x" * 17, None, 5])}


@st.composite
def raw_readings(draw: st.DrawFn) -> dict:
    """Mostly valid readings, each with at most one field drawn from a wild pool."""
    reading = {name: draw(strategy) for name, strategy in VALID.items()}
    quality = draw(st.sampled_from(["good", "clock_unsynced", "timeout", "device_error"]))
    reading["quality"] = quality
    reading["value"] = draw(st.floats(allow_nan=False, allow_infinity=False)) if quality in (
        "good", "clock_unsynced") else None
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


def model_readings(raw: list[dict]) -> list[Incoming] | None:
    try:
        batch = Batch.model_validate_json(json.dumps({**HEADER, "readings": raw}), strict=True)
    except ValidationError:
        return None
    return [Incoming(r.seq, r.device, r.point, r.variable, r.ts, r.value, r.unit, r.quality) for r in batch.readings]


@settings(max_examples=400, deadline=None)
@given(st.lists(raw_readings(), min_size=1, max_size=3))
def test_the_fast_path_accepts_only_what_the_model_accepts_and_reads_it_the_same(raw):
    fast = fast_readings(json.loads(json.dumps(raw)))
    if fast is not None:
        assert fast == model_readings(raw)


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
    raw = [{"seq": 1, "device": "d", "point": "P1", "variable": "flow", "ts": "2026-11-28T09:59:00-03:00",
            "value": 2, "unit": "L/s"}]
    assert fast_readings(raw) == model_readings(raw)
    assert fast_readings(raw)[0].value == 2.0 and type(fast_readings(raw)[0].value) is float
