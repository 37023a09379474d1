"""The gateway's view of its points: GET /api/v1/ingest/points, and the 403 naming foreign points (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from protocols.uplink import ASSIGNED_POINTS_PATH
from tests.central.telemetry_support import ADMIN_TOKEN, GATEWAY_TOKEN, OTHER_GATEWAY_TOKEN, batch, reading

NOW = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)
T0 = NOW - timedelta(minutes=10)


def test_a_gateway_lists_the_points_assigned_to_it(site):
    assert site.get(ASSIGNED_POINTS_PATH, token=GATEWAY_TOKEN).json() == {"gateway": "gw-norte", "points": ["P1", "P2"]}
    assert site.get(ASSIGNED_POINTS_PATH, token=OTHER_GATEWAY_TOKEN).json() == {"gateway": "gw-sur", "points": ["P3"]}


def test_only_a_gateway_token_lists_points(site):
    response = site.get(ASSIGNED_POINTS_PATH, token=ADMIN_TOKEN)
    assert (response.status_code, response.json()["error"]["message"]) == (401, "token de gateway no válido o revocado")


def test_a_refused_batch_names_every_foreign_point_with_its_devices(site):
    readings = [
        reading(1, "flow", T0, 1.0),
        reading(2, "flow", T0, 2.0, point="P3"),
        {**reading(3, "flow", T0, 3.0, point="NOPE"), "device": "pozo-9"},
        {**reading(4, "level", T0, 4.0, point="P3"), "device": "nivel-3"},
    ]
    response = site.ingest(batch(readings, NOW))
    assert response.status_code == 403
    assert response.json()["error"] == {
        "status": 403,
        "code": "forbidden",
        "message": "el gateway 'gw-norte' no puede escribir el/los punto(s) NOPE (equipo pozo-9), P3 (equipo dev-1,"
        " nivel-3): no le están asignados; no se guardó nada de este lote (asigne los puntos al gateway o"
        " corrija point: en su site.yaml)",
        "details": [
            {"index": None, "seq": None, "field": "point", "problem": "NOPE"},
            {"index": None, "seq": None, "field": "point", "problem": "P3"},
        ],
    }
    assert site.stored() == []
