"""POST /api/v1/ingest against the real app on SQLite and PostgreSQL."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.central.telemetry_support import OTHER_GATEWAY_TOKEN, batch, reading, series

NOW = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)
T0 = NOW - timedelta(minutes=10)


def good_batch() -> dict:
    return batch(
        [
            reading(1, "flow", T0, 12.5),
            reading(2, "totalizer", T0, 1000.0),
            reading(3, "level", T0, 20.0),
            reading(4, "flow", T0 + timedelta(minutes=1), None, quality="timeout"),
        ],
        NOW,
    )


def test_a_batch_is_stored_and_the_reply_counts_it(site):
    response = site.ingest(good_batch())
    assert response.status_code == 200
    assert response.json() == {
        "stored": 4,
        "duplicates": 0,
        "server_time": "2026-11-28T13:00:00Z",
        "config_version": None,
    }
    assert site.stored() == [
        ("P1", "flow", T0, 12.5, None, "good", None),
        ("P1", "level", T0, 20.0, None, "good", None),
        ("P1", "totalizer", T0, 1000.0, None, "good", None),
        ("P1", "water_table", T0, 30.0, None, "good", "derived"),
        ("P1", "flow", T0 + timedelta(minutes=1), None, None, "timeout", None),
    ]


def test_the_same_batch_twice_is_stored_once(site):
    site.ingest(good_batch())
    response = site.ingest(good_batch())
    assert response.json() == {
        "stored": 0,
        "duplicates": 4,
        "server_time": "2026-11-28T13:00:00Z",
        "config_version": None,
    }
    assert len(site.stored()) == 5


def test_a_partly_known_batch_stores_only_the_new_readings(site):
    site.ingest(batch([reading(1, "flow", T0, 1.0)], NOW))
    response = site.ingest(
        batch([reading(1, "flow", T0, 1.0), reading(2, "flow", T0 + timedelta(minutes=1), 2.0)], NOW)
    )
    assert response.json()["stored"] == 1 and response.json()["duplicates"] == 1


def test_one_foreign_point_refuses_the_whole_batch(site):
    document = batch([reading(1, "flow", T0, 1.0), reading(2, "flow", T0, 2.0, point="P3")], NOW)
    response = site.ingest(document)
    assert response.status_code == 403
    assert "P3" in response.json()["error"]["message"]
    assert site.stored() == []


def test_an_unknown_point_is_refused_like_a_foreign_one(site):
    response = site.ingest(batch([reading(1, "flow", T0, 1.0, point="NOPE")], NOW))
    assert response.status_code == 403
    assert site.stored() == []


@pytest.mark.parametrize("token", [None, "not-a-token", OTHER_GATEWAY_TOKEN + "x"])
def test_without_a_valid_gateway_token_the_answer_is_401(site, token):
    response = site.ingest(good_batch(), token=token)
    assert response.status_code == 401
    assert site.stored() == []


def test_a_users_token_is_not_a_gateway_token(site):
    assert site.ingest(good_batch(), token="admin-token").status_code == 401


def test_a_revoked_gateway_token_is_refused(site):
    with site.db.transaction() as conn:
        conn.execute("UPDATE gateways SET revoked_at = :now WHERE name = 'gw-norte'", {"now": NOW})
    assert site.ingest(good_batch()).status_code == 401
    assert site.stored() == []


def test_a_heartbeat_updates_the_gateways_contact_fields(site):
    agent = {"version": "1.4.2", "buffer_depth": 17, "oldest_unsent_s": 42.5, "dropped_total": 3, "clock_synced": False}
    response = site.ingest(batch([], NOW - timedelta(seconds=90), agent=agent))
    assert response.json() == {
        "stored": 0,
        "duplicates": 0,
        "server_time": "2026-11-28T13:00:00Z",
        "config_version": None,
    }
    row = site.rows(
        "SELECT last_seen_at, clock_offset_s, agent_version, buffer_depth, oldest_unsent_s,"
        " dropped_total, clock_synced FROM gateways WHERE name = 'gw-norte'"
    )[0]
    assert row == {
        "last_seen_at": NOW,
        "clock_offset_s": -90.0,
        "agent_version": "1.4.2",
        "buffer_depth": 17,
        "oldest_unsent_s": 42.5,
        "dropped_total": 3,
        "clock_synced": False,
    }


def test_a_refused_batch_does_not_count_as_contact(site):
    site.ingest(batch([reading(1, "flow", T0, 1.0, point="P3")], NOW))
    assert site.rows("SELECT last_seen_at FROM gateways WHERE name = 'gw-norte'") == [{"last_seen_at": None}]


def test_a_gzip_body_is_accepted(site):
    response = site.ingest(good_batch(), gzipped=True)
    assert response.status_code == 200 and response.json()["stored"] == 4


def test_a_gzip_bomb_is_refused_before_it_is_inflated(site):
    bomb = gzip.compress(b" " * (10 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 20_000
    response = site.ingest(bomb, headers={"Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert "una vez descomprimido" in response.json()["error"]["message"]


def test_a_10_mb_body_is_refused(site):
    response = site.ingest(b" " * (10 * 1024 * 1024))
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b" " * (10 * 1024 * 1024), {}),  # too large: 413 for a gateway
        (b"{}", {"Content-Encoding": "br"}),  # unsupported encoding: 415 for a gateway
        (b"{this is not json", {}),  # parsed before the token is checked, refused after it: 422 for a gateway
        (b'{"schema": 1, "readings": "none"}', {}),  # a batch of the wrong shape: 422 for a gateway
    ],
)
def test_a_bad_token_is_refused_before_the_body_is_judged(site, body, headers):
    response = site.ingest(body, token="not-a-token", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "token de gateway no válido o revocado"


def test_a_streamed_body_without_a_length_is_cut_off_at_the_limit(site):
    def chunks():
        for _ in range(80):
            yield b" " * 65536

    response = site.client.post("/api/v1/ingest", content=chunks(), headers={"Authorization": "Bearer gw-norte-token"})
    assert response.request.headers.get("content-length") is None
    assert response.status_code == 413


def test_an_async_on_ingest_hook_is_awaited(site):
    calls = []

    async def hook(point_ids, readings):
        calls.append(len(readings))

    site.client.app.state.ctx.on_ingest = hook
    site.ingest(good_batch())
    assert calls == [5]


def test_broken_gzip_is_a_bad_request(site):
    response = site.ingest(gzip.compress(b'{"schema": 1}')[:-6], headers={"Content-Encoding": "gzip"})
    assert response.status_code == 400
    assert "no es gzip válido" in response.json()["error"]["message"]


@pytest.mark.parametrize("encoding", ["br", "deflate", "zstd"])
def test_an_unknown_content_encoding_is_415(site, encoding):
    response = site.ingest(json.dumps(good_batch()).encode(), headers={"Content-Encoding": encoding})
    assert response.status_code == 415
    assert encoding in response.json()["error"]["message"]


def test_metrics_count_stored_and_duplicate_readings(site):
    registry = site.client.app.state.ctx.metrics.registry
    names = ("caudal_ingested_readings_total", "caudal_ingest_duplicate_readings_total", "caudal_ingest_seconds_count")
    before = [registry.get_sample_value(name) for name in names]
    site.ingest(good_batch())
    site.ingest(good_batch())
    after = [registry.get_sample_value(name) for name in names]
    assert [a - b for a, b in zip(after, before, strict=True)] == [4.0, 4.0, 2.0]


def test_the_on_ingest_hook_gets_the_points_and_processed_readings(site):
    calls = []
    site.client.app.state.ctx.on_ingest = lambda point_ids, readings: calls.append(
        (point_ids, [(r.variable, r.value, r.flags) for r in readings])
    )
    site.ingest(batch([reading(1, "flow", T0, 0.2), reading(2, "level", T0, 20.0)], NOW))
    point_id = site.rows("SELECT id FROM points WHERE code = 'P1'")[0]["id"]
    assert calls == [([point_id], [("flow", 0.0, "cutoff"), ("level", 20.0, None), ("water_table", 30.0, "derived")])]


def test_a_failing_on_ingest_hook_does_not_fail_the_ingest(site):
    def broken(point_ids, readings):
        raise RuntimeError("alerts are down")

    site.client.app.state.ctx.on_ingest = broken
    response = site.ingest(good_batch())
    assert response.status_code == 200
    assert len(site.stored()) == 5


def test_many_readings_in_one_batch_are_all_stored(site):
    start = NOW - timedelta(days=4)
    readings = series("flow", start, [float(i) for i in range(5000)])
    response = site.ingest(batch(readings, NOW))
    assert response.json()["stored"] == 5000
    assert site.rows("SELECT COUNT(*) AS n FROM readings") == [{"n": 5000}]


def test_a_small_batch_mixing_integer_and_decimal_values_stores_each_number(site):
    """On PostgreSQL a small batch goes as one JSON parameter: each number comes back as sent."""
    site.ingest(
        batch(
            [
                reading(1, "flow", T0, 12),
                reading(2, "flow", T0 + timedelta(minutes=1), 12.5),
                reading(3, "flow", T0 + timedelta(minutes=2), None, quality="timeout"),
            ],
            NOW,
        )
    )
    assert site.stored() == [
        ("P1", "flow", T0, 12.0, None, "good", None),
        ("P1", "flow", T0 + timedelta(minutes=1), 12.5, None, "good", None),
        ("P1", "flow", T0 + timedelta(minutes=2), None, None, "timeout", None),
    ]


def test_a_point_with_readings_cannot_be_deleted_and_keeps_them(site):
    site.ingest(good_batch())
    response = site.client.delete("/api/v1/points/P1", headers={"Authorization": "Bearer admin-token"})
    assert response.status_code == 409
    assert (
        response.json()["error"]["message"]
        == "el punto 'P1' tiene datos registrados; cambie su estado a inactive en vez de borrarlo"
    )
    assert len(site.stored()) == 5


def test_each_points_first_totalizer_is_compared_with_its_own_last_stored_count(site):
    site.ingest(
        batch(
            [
                reading(1, "totalizer", T0, 500.0),
                reading(2, "totalizer", T0, 80.0, point="P2"),
                reading(3, "totalizer", T0 + timedelta(minutes=2), 900.0),
            ],
            NOW,
        )
    )
    # P1's last count before minute 1 is 500 (the later 900 does not count); P2's is 80
    site.ingest(
        batch(
            [
                reading(4, "totalizer", T0 + timedelta(minutes=1), 400.0),
                reading(5, "totalizer", T0 + timedelta(minutes=1), 90.0, point="P2"),
            ],
            NOW,
        )
    )
    assert [row for row in site.stored() if row[2] == T0 + timedelta(minutes=1)] == [
        ("P1", "totalizer", T0 + timedelta(minutes=1), 400.0, None, "good", "reset"),
        ("P2", "totalizer", T0 + timedelta(minutes=1), 90.0, None, "good", None),
    ]
