"""Every time a request brings in is bounded: edge dates per endpoint, each answered with
its status and, when refused, the whole message (never a 500). The server clock is
:data:`START` (2026-11-28T13:00:00Z), so "a day past the server clock" is 2026-11-29T13:00:00Z."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.central.telemetry_support import batch, reading

RANGE = "de 2000-01-01T00:00:00Z a 2100-01-01T00:00:00Z"
SERVER_RANGE = "de 2000-01-01T00:00:00Z a 2026-11-29T13:00:00Z"
NOW = "2026-11-28T13:00:00Z"


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _refused(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["message"] if response.status_code >= 400 else ""


def _outside(where: str, shown: str) -> tuple[int, str]:
    return 422, f"{where}: {shown} está fuera del rango aceptado, {RANGE}"


SENT_AT_UNSET = " (un día después del reloj del servidor): ¿está en hora el reloj del gateway?"


@pytest.mark.parametrize(
    ("sent_at", "expected"),
    [
        (
            "0001-01-01T00:00:00Z",
            (422, f"sent_at: 0001-01-01T00:00:00Z está fuera del rango aceptado, {SERVER_RANGE}{SENT_AT_UNSET}"),
        ),
        (
            "1999-12-31T23:59:59Z",
            (422, f"sent_at: 1999-12-31T23:59:59Z está fuera del rango aceptado, {SERVER_RANGE}{SENT_AT_UNSET}"),
        ),
        ("2000-01-01T00:00:00Z", (200, "")),
        ("2026-11-29T13:00:00Z", (200, "")),
        (
            "2026-11-29T13:00:01Z",
            (422, f"sent_at: 2026-11-29T13:00:01Z está fuera del rango aceptado, {SERVER_RANGE}{SENT_AT_UNSET}"),
        ),
        (
            "9999-12-31T23:59:59Z",
            (422, f"sent_at: 9999-12-31T23:59:59Z está fuera del rango aceptado, {SERVER_RANGE}{SENT_AT_UNSET}"),
        ),
        (
            "0001-01-01T00:00:00+01:00",
            (422, "sent_at: 0001-01-01T00:00:00+01:00 queda fuera de las horas representables en UTC"),
        ),
    ],
)
def test_a_batchs_sent_at_lies_between_2000_and_a_day_past_the_server_clock(site, sent_at, expected):
    heartbeat = {"schema": 1, "gateway": "gw-norte", "sent_at": sent_at, "readings": []}
    assert _refused(site.ingest(heartbeat)) == expected


BEFORE_2000 = (
    "es anterior a 2000-01-01T00:00:00Z: ninguna lectura es tan antigua (¿estaba en hora el reloj del gateway?)"
)
FUTURE = (
    "está en el futuro (lo más tarde aceptado es 2026-11-29T13:00:00Z: el reloj del servidor o el sent_at del"
    " gateway, el que sea posterior, más 300 s, y como mucho un día después del reloj del servidor)"
)


@pytest.mark.parametrize(
    ("ts", "sent_at", "expected"),
    [
        ("0001-01-01T00:00:00Z", NOW, (422, f"readings[0] (seq 1) ts: 0001-01-01T00:00:00Z {BEFORE_2000}")),
        (
            "1999-12-31T23:59:59.999999Z",
            NOW,
            (422, f"readings[0] (seq 1) ts: 1999-12-31T23:59:59.999999Z {BEFORE_2000}"),
        ),
        ("2000-01-01T00:00:00Z", NOW, (200, "")),
        ("2026-11-29T13:00:00Z", "2026-11-29T13:00:00Z", (200, "")),
        (
            "2026-11-29T13:00:01Z",
            "2026-11-29T13:00:00Z",
            (422, f"readings[0] (seq 1) ts: 2026-11-29T13:00:01Z {FUTURE}"),
        ),
        (
            "9999-12-31T23:59:59Z",
            "2026-11-29T13:00:00Z",
            (422, f"readings[0] (seq 1) ts: 9999-12-31T23:59:59Z {FUTURE}"),
        ),
        (
            "0001-01-01T00:00:00+01:00",
            NOW,
            (422, "readings[0] (seq 1) ts: 0001-01-01T00:00:00+01:00 queda fuera de las horas representables en UTC"),
        ),
    ],
)
def test_a_reading_lies_between_2000_and_a_day_past_the_server_clock(site, ts, sent_at, expected):
    document = batch([{**reading(1, "flow", _at(NOW), 1.0), "ts": ts}], _at(sent_at))
    assert _refused(site.ingest(document)) == expected
    assert len(site.stored()) == (1 if expected[0] == 200 else 0)


QUERIES = [
    ("/api/v1/points/P1/readings", "from", {}),
    ("/api/v1/points/P1/readings", "to", {"from": "2000-01-01T00:00:00Z"}),
    ("/api/v1/points/P1/readings", "from", {"format": "csv"}),
    ("/api/v1/points/P1/aggregates", "from", {"bucket": "month"}),
    ("/api/v1/points/P1/aggregates", "to", {"bucket": "month", "from": "2000-01-01T00:00:00Z"}),
    ("/api/v1/alerts", "from", {}),
    ("/api/v1/alerts", "to", {"from": "2000-01-01T00:00:00Z"}),
    ("/api/v1/compliance/submissions", "from", {}),
    ("/api/v1/compliance/submissions", "to", {}),
    ("/api/v1/compliance/log", "from", {}),
    ("/api/v1/compliance/log", "to", {"from": "2000-01-01T00:00:00Z"}),
]
EDGES = [
    ("0001-01-01T00:00:00Z", _outside("{where}", "0001-01-01T00:00:00Z")),
    ("0001-01-01T00:00:00+01:00", _outside("{where}", "0001-01-01T00:00:00+01:00")),
    ("1999-12-31T23:59:59Z", _outside("{where}", "1999-12-31T23:59:59Z")),
    ("2000-01-01T00:00:00Z", (200, "")),
    ("2100-01-01T00:00:01Z", _outside("{where}", "2100-01-01T00:00:01Z")),
    ("9999-12-31T23:59:59Z", _outside("{where}", "9999-12-31T23:59:59Z")),
    ("9999-12-31T23:59:59-01:00", _outside("{where}", "9999-12-31T23:59:59-01:00")),
]


@pytest.mark.parametrize(
    ("path", "name", "others"),
    QUERIES,
    ids=[f"{path.rsplit('/', 1)[1]}-{name}-{len(others)}" for path, name, others in QUERIES],
)
@pytest.mark.parametrize(("value", "expected"), EDGES, ids=[value for value, _ in EDGES])
def test_a_time_in_a_query_lies_between_2000_and_2100(site, path, name, others, value, expected):
    if value == "2000-01-01T00:00:00Z" and "from" in others:
        value = "2100-01-01T00:00:00Z"  # the other end of the range (from is 2000-01-01)
    status, message = expected
    response = site.get(path, **{**others, name: value})
    assert _refused(response) == (status, message.replace("{where}", f"query.{name}"))


@pytest.mark.parametrize(
    ("expires_at", "expected"),
    [
        ("2100-01-01T00:00:00Z", (201, "")),
        ("2100-01-01T00:00:01Z", _outside("body.expires_at", "2100-01-01T00:00:01Z")),
        ("9999-12-31T23:59:59-01:00", _outside("body.expires_at", "9999-12-31T23:59:59-01:00")),
        ("0001-01-01T00:00:00+01:00", _outside("body.expires_at", "0001-01-01T00:00:00+01:00")),
    ],
)
def test_a_personal_tokens_expiry_lies_before_2100(site, expires_at, expected):
    response = site.post("/api/v1/users/me/tokens", {"name": "script", "expires_at": expires_at})
    assert _refused(response) == expected
