"""OWASP API10 (unsafe consumption of APIs): what the DGA answers is data, never trusted blindly.

A hostile stand-in on loopback answers the compliance worker's POST with garbage, HTML, a huge
body or a success-looking reply without a usable comprobante. Each time the worker records the
attempt and leaves the slot unaccepted, with no comprobante stored, and it does not crash.
SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from tests.central.notify.support import answering
from tests.compliance import worker_support as support

SLOT = support.utc("2026-11-28T12:00:00")
HUGE = 8 * 1024 * 1024


def _json(value: object) -> tuple[int, str, bytes]:
    return 200, "application/json", json.dumps(value).encode()


REPLIES = {
    "garbage": (200, "application/octet-stream", bytes(range(256)) * 64),
    "html": (200, "text/html", b"<html><body><h1>Mantenimiento</h1>status 00 Comprobante: 123</body></html>"),
    "html-502": (502, "text/html", b"<html><body>Bad Gateway</body></html>"),
    "huge-garbage": (200, "text/plain", b"x" * HUGE),
    "huge-json-without-comprobante": _json({"status": "00", "message": "ok", "padding": "x" * HUGE}),
    "array": _json([{"status": "00", "numeroComprobante": "123"}]),
    "comprobante-object": _json({"status": "00", "data": {"numeroComprobante": {"$ne": None}}}),
    "comprobante-bool": _json({"status": "00", "data": {"numeroComprobante": True}}),
    "comprobante-blank": _json({"status": "00", "data": {"numeroComprobante": "   "}}),
    "success-status-as-number": _json({"status": 0, "data": {"numeroComprobante": "123"}}),
    "not-utf8": (200, "application/json; charset=utf-8", b'{"status": "00", "message": "\xff\xfe"}'),
    "escaped-nul-json": (200, "application/json", b'{"status": "01", "message": "error\\u0000", "\\u0000": [1]}'),
    "nan-json": (200, "application/json", b'{"status": "00", "data": {"numeroComprobante": NaN}}'),
    "unknown-charset": (200, "application/json; charset=x-martian", b'{"status": "01", "message": "no"}'),
}


class Hostile:
    """Answers every request with one fixed reply and counts them."""

    def __init__(self, name: str, reply: tuple[int, str, bytes]) -> None:
        self.name = name
        self.reply = reply
        self.requests = 0
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        self.requests += 1
        status, content_type, body = self.reply
        return web.Response(status=status, body=body, headers={"Content-Type": content_type})


@pytest.fixture(params=sorted(REPLIES))
async def hostile(request: pytest.FixtureRequest) -> AsyncIterator[Hostile]:
    server = Hostile(request.param, REPLIES[request.param])
    async with answering(server.handle) as url:
        server.url = url
        yield server


async def test_a_hostile_reply_is_a_recorded_failure_without_a_comprobante(
    db, database_url, clock, hostile: Hostile
) -> None:
    point_id = support.seed(db, clock.now())
    support.add_readings(db, point_id, SLOT, flow=12.345, totalizer=154320.9, water_table=35.424)
    support.configure_dga(db, point_id, hostile.url, clock.now())
    clock.set("2026-11-28T13:15:00+00:00")
    await support.one_pass(db, clock, database_url)
    with db.connect() as conn:
        attempts = conn.fetchall("SELECT kind, outcome, comprobante FROM compliance_attempts")
    [(state, comprobante)] = [
        (state, comprobante) for slot, state, comprobante in support.ledger(db) if slot == SLOT.isoformat()
    ]
    assert hostile.requests >= 1
    assert comprobante is None
    assert state not in ("accepted", "confirmed")
    assert [(row["kind"], row["comprobante"]) for row in attempts] == [("send", None)] * hostile.requests
    assert all(row["outcome"] for row in attempts)
