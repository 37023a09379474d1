import pytest
from pydantic import ValidationError

from protocols.uplink import Batch, Quality, Reading

GOOD = {
    "seq": 1,
    "device": "caudalimetro-pozo-1",
    "point": "OB-0601-444",
    "variable": "flow",
    "ts": "2026-11-28T10:00:00-03:00",
    "value": 12.34,
    "unit": "L/s",
    "quality": "good",
}


def test_timestamps_become_utc():
    assert Reading(**GOOD).ts.isoformat() == "2026-11-28T13:00:00+00:00"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"value": float("nan")}, "finito"),
        ({"value": float("inf")}, "finito"),
        ({"value": None}, "necesita un valor"),
        ({"quality": "timeout"}, "debe llevar value null"),
        ({"ts": "2026-11-28T13:00:00"}, "timezone"),
        ({"variable": "Flow rate"}, "pattern"),
        ({"extra": 1}, "Extra inputs"),
    ],
)
def test_bad_readings_are_refused_with_the_reason(changes, message):
    with pytest.raises(ValidationError, match=message):
        Reading(**{**GOOD, **changes})


def test_a_failed_read_travels_as_null_with_its_quality():
    reading = Reading(**{**GOOD, "value": None, "quality": "timeout"})
    assert (reading.value, reading.quality) == (None, Quality.TIMEOUT)


def test_batch_round_trips_through_json_with_the_schema_key():
    batch = Batch(gateway="gw-norte-01", sent_at="2026-11-28T13:00:05Z", readings=[Reading(**GOOD)])
    text = batch.to_json()
    assert text.startswith(b'{"schema":1,"gateway":"gw-norte-01"')
    assert Batch.model_validate_json(text) == batch


def test_a_time_utc_cannot_hold_is_a_validation_error_naming_the_field():
    with pytest.raises(ValidationError, match=r"ts\n.*queda fuera de las horas"):
        Reading(**{**GOOD, "ts": "0001-01-01T00:00:00+01:00"})
