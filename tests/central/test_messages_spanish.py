"""The refusals operators and technicians meet are in Spanish: a table of requests, each with
the whole message it must answer (a message that slides back to English fails here)."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.central.telemetry_support import (
    ADMIN_TOKEN,
    ANA_TOKEN,
    batch,
    reading,
)

NOW = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)
SWAP = {"ts": "2026-11-28T12:00:00Z", "old_final_m3": 10.0, "new_base_m3": 0.0}


def _ingest(site, readings: list[dict[str, Any]], **fields: Any):
    return site.ingest({**batch(readings, NOW), **fields})


REQUESTS = [
    (
        "zona horaria",
        lambda s: s.get("/api/v1/points/P1/aggregates", tz="Marte/Olimpo"),
        422,
        "zona horaria desconocida 'Marte/Olimpo' (use un nombre IANA como America/Santiago)",
    ),
    (
        "demasiados intervalos",
        lambda s: s.get(
            "/api/v1/points/P1/aggregates", bucket="hour", from_="2020-01-01T00:00:00Z", to="2026-01-01T00:00:00Z"
        ),
        422,
        "más de 20000 intervalos de una hora; pida un rango más corto o un intervalo mayor",
    ),
    (
        "cursor ajeno",
        lambda s: s.get("/api/v1/points/P1/readings", cursor="zzz"),
        422,
        "cursor 'zzz' no es uno que haya entregado este servidor: use el next_cursor de la página anterior, o"
        " ninguno para la primera página",
    ),
    (
        "cambio de medidor futuro",
        lambda s: s.post("/api/v1/points/P1/meter-changes", {**SWAP, "ts": "2026-11-29T12:00:00Z"}),
        422,
        "ts 2026-11-29T12:00:00Z está en el futuro; registre el cambio de medidor una vez hecho",
    ),
    (
        "cambio de medidor antiguo",
        lambda s: s.post("/api/v1/points/P1/meter-changes", {**SWAP, "ts": "1999-11-29T12:00:00Z"}),
        422,
        "body.ts: ts es anterior a 2000; un cambio de medidor es reciente",
    ),
    (
        "punto que no ve",
        lambda s: s.get("/api/v1/points/P2/readings", token=ANA_TOKEN),
        404,
        "no hay un punto con código 'P2'",
    ),
    ("ruta inexistente", lambda s: s.get("/api/v1/nada"), 404, "no existe esa ruta"),
    ("sin token", lambda s: s.client.get("/api/v1/latest"), 401, "falta el token (Authorization: Bearer <token>)"),
    ("no administrador", lambda s: s.get("/api/v1/users", token=ANA_TOKEN), 403, "esto requiere un administrador"),
    (
        "coordenadas a medias",
        lambda s: s.post("/api/v1/points", {"code": "P9", "name": "P9", "kind": "subterranea", "latitude": -33.4}),
        422,
        "body: latitude y longitude van juntas: dé las dos o ninguna",
    ),
    (
        "regla de punto en un gateway",
        lambda s: s.client.put(
            "/api/v1/gateways/gw-norte/alert-rules",
            json=[{"kind": "point_silent", "minutes": 30}],
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        ),
        422,
        "body.0.kind: no es una regla de gateway (gateway_silent, clock_offset, buffer_dropping)",
    ),
    (
        "webhook a una dirección privada",
        lambda s: s.post(
            "/api/v1/users/me/channels",
            {"kind": "webhook", "name": "local", "url": "https://127.0.0.1/hook", "secret": "s" * 16},
        ),
        422,
        "canal 'local': 127.0.0.1 se resuelve a 127.0.0.1, que la política de destinos prohíbe"
        " (privada, loopback, link-local, multicast o reservada)",
    ),
    (
        "webhook sin https",
        lambda s: s.post(
            "/api/v1/users/me/channels",
            {"kind": "webhook", "name": "plano", "url": "http://example.org/hook", "secret": "s" * 16},
        ),
        422,
        "canal 'plano': example.org: los webhooks deben usar https",
    ),
    (
        "codificación",
        lambda s: s.ingest(batch([], NOW), headers={"Content-Encoding": "br"}),
        415,
        "Content-Encoding 'br' no se acepta; envíe identity o gzip",
    ),
    (
        "gzip roto",
        lambda s: s.ingest(
            gzip.compress(json.dumps(batch([], NOW)).encode())[:-4], headers={"Content-Encoding": "gzip"}
        ),
        400,
        "el cuerpo no es gzip válido: está cortado o le siguen bytes de más",
    ),
    (
        "otro gateway",
        lambda s: _ingest(s, [], gateway="gw-sur"),
        422,
        "gateway: el lote dice gateway 'gw-sur' pero el token es de 'gw-norte'",
    ),
    (
        "variable derivada",
        lambda s: _ingest(s, [reading(1, "water_table", NOW, 3.0)]),
        422,
        "readings[0] (seq 1) variable: water_table lo calcula el servidor a partir de level y la profundidad del"
        " sensor del punto; envíe level",
    ),
    (
        "unidad",
        lambda s: _ingest(s, [reading(1, "flow", NOW, 3.0, unit="m3/h")]),
        422,
        "readings[0] (seq 1) unit: flow debe llegar en L/s (el gateway convierte las unidades), no en 'm3/h'",
    ),
    (
        "lectura futura",
        lambda s: _ingest(s, [reading(1, "flow", NOW + timedelta(hours=1), 3.0)]),
        422,
        "readings[0] (seq 1) ts: 2026-11-28T14:00:00Z está en el futuro (lo más tarde aceptado es"
        " 2026-11-28T13:05:00Z: el reloj del servidor o el sent_at del gateway, el que sea posterior, más 300 s,"
        " y como mucho un día después del reloj del servidor)",
    ),
    (
        "calidad sin valor",
        lambda s: _ingest(s, [reading(1, "flow", NOW, None)]),
        422,
        "readings[0] (seq 1): la calidad 'good' necesita un valor",
    ),
    (
        "dos problemas",
        lambda s: _ingest(s, [reading(1, "flow", NOW, None), reading(2, "flow", NOW, None)]),
        422,
        "readings[0] (seq 1): la calidad 'good' necesita un valor (y 1 más)",
    ),
    (
        "punto ajeno",
        lambda s: _ingest(s, [reading(1, "flow", NOW, 3.0, point="P3")]),
        403,
        "el gateway 'gw-norte' no puede escribir el/los punto(s) P3 (equipo dev-1): no le están asignados; no se"
        " guardó nada de este lote (asigne los puntos al gateway o corrija point: en su site.yaml)",
    ),
]


@pytest.mark.parametrize(
    ("request_of", "status", "message"), [case[1:] for case in REQUESTS], ids=[case[0] for case in REQUESTS]
)
def test_the_refusal_is_in_spanish(site, request_of, status, message):
    response = request_of(site)
    assert (response.status_code, response.json()["error"]["message"]) == (status, message)


def test_a_meter_change_recorded_twice_is_a_spanish_409(site):
    assert site.post("/api/v1/points/P1/meter-changes", SWAP).status_code == 201
    response = site.post("/api/v1/points/P1/meter-changes", SWAP)
    assert (response.status_code, response.json()["error"]["message"]) == (
        409,
        "ya hay un cambio de medidor del punto 'P1' registrado a las 2026-11-28T12:00:00Z",
    )
