"""Which 403 answers name points to hold back, and when held points are offered again."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from edge.held import HeldPoints, refused_points
from edge.http import HttpReply

NOW = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)
POINTS = {
    "error": {
        "status": 403,
        "code": "forbidden",
        "message": "...",
        "details": [
            {"index": None, "seq": None, "field": "point", "problem": "P3"},
            {"index": None, "seq": None, "field": "point", "problem": "NOPE"},
        ],
    }
}


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (403, json.dumps(POINTS).encode(), {"P3", "NOPE"}),
        (401, json.dumps(POINTS).encode(), set()),
        (403, b'{"error": {"status": 403, "message": "forbidden"}}', set()),
        (403, b'{"error": {"details": [{"field": "ts", "problem": "x"}, {"field": "point", "problem": 7}]}}', set()),
        (403, b"<html>403 Forbidden</html>", set()),
        (403, b"[1, 2]", set()),
    ],
)
def test_only_a_403_listing_points_names_points_to_hold(status: int, body: bytes, expected: set[str]) -> None:
    assert refused_points(HttpReply(status, {}, body)) == expected


def test_held_points_are_offered_again_after_the_recheck_time() -> None:
    held = HeldPoints(recheck_s=600)
    assert held.hold({"P3"}, NOW) == {"P3"}
    assert held.hold({"P3"}, NOW + timedelta(seconds=10)) == set()
    assert held.current(NOW + timedelta(seconds=599)) == {"P3"}
    assert held.current(NOW + timedelta(seconds=600)) == frozenset()
